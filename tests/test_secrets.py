"""The one masking policy (memcheck.secrets): real command lines, environments and files of
commands lose their secrets and keep everything else; a real local run writes none."""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from memcheck.detect import detect, shown_cmdline
from memcheck.engine import evaluate
from memcheck.facts import Facts
from memcheck.facts.process_memory import cmdline_text
from memcheck.registry import builtin_checks
from memcheck.results import RunResult
from memcheck.secrets import (
    MASK,
    SCRIPT_STAND_IN,
    is_secret_name,
    is_secret_variable,
    mask_argv,
    mask_cmdline,
    mask_command_file,
    mask_environ,
    mask_kernel_log,
    mask_snapshot_files,
    mask_text,
    mask_url_passwords,
)
from tests.integration.cli import run_memcheck
from tests.snapshots import snapshot_from

S1, S2 = "Hunter2x9Q", "S3cr3tZk7W"

# (command line as sh would split it, secrets that must vanish, words that must stay as
# they are). Real command lines of the services memcheck audits and of what runs beside them.
CORPUS: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
    # Redis and Valkey
    (
        f"/usr/bin/redis-server /etc/redis/redis.conf --port 6380 --requirepass {S1}"
        f" --masterauth {S2} --masteruser repl",
        (S1, S2),
        ("/etc/redis/redis.conf", "--port", "6380", "--requirepass", "--masterauth", "repl"),
    ),
    (f"valkey-server --requirepass={S1} --maxmemory 2gb", (S1,), ("--maxmemory", "2gb")),
    (
        f"redis-cli -h 10.0.0.5 -p 6379 -a {S1} --no-auth-warning INFO memory",
        (S1,),
        ("-h", "10.0.0.5", "-p", "6379", "-a", "--no-auth-warning", "INFO", "memory"),
    ),
    (f"redis-cli --user app --pass {S1} PING", (S1,), ("--user", "app", "--pass", "PING")),
    (
        f"redis-cli -u redis://app:{S1}@cache.internal:6379/0 PING",
        (S1,),
        ("redis://app:***@cache.internal:6379/0", "PING"),
    ),
    (f"redis-cli -u rediss://:{S1}@cache:6380 PING", (S1,), ("rediss://:***@cache:6380",)),
    (f"redis-cli CONFIG SET requirepass {S1}", (S1,), ("CONFIG", "SET", "requirepass")),
    (f"redis-cli -h cache AUTH app {S1}", (S1,), ("-h", "cache", "AUTH")),
    (
        f"redis-server --port 7000 --user 'alice on >{S1} ~cached:* +get'",
        (S1,),
        ("--port", "7000", "alice on >*** ~cached:* +get"),
    ),
    (f"redis-server --user bob on >{S1} '~*' +@all", (S1,), ("bob", "on", "~*", "+@all")),
    ("/usr/bin/redis-server 127.0.0.1:6379", (), ("/usr/bin/redis-server", "127.0.0.1:6379")),
    # MySQL and MariaDB
    (
        "/usr/sbin/mysqld --basedir=/usr --datadir=/var/lib/mysql --user=mysql"
        " --plugin-dir=/usr/lib/mysql/plugin --log-error=/var/log/mysql/error.log"
        " --pid-file=/run/mysqld/mysqld.pid --socket=/run/mysqld/mysqld.sock --port=3306"
        " --key-buffer-size=16M --default-authentication-plugin=mysql_native_password",
        (),
        ("--key-buffer-size=16M", "--default-authentication-plugin=mysql_native_password"),
    ),
    (
        f"mysql -uroot -p{S1} -h db.internal -P 3306 shop",
        (S1,),
        ("-uroot", "-p***", "-h", "db.internal", "-P", "3306", "shop"),
    ),
    (
        f"mysqldump --single-transaction --user=backup --password={S1} --all-databases",
        (S1,),
        ("--single-transaction", "--user=backup", "--password=***", "--all-databases"),
    ),
    (f"mysqladmin -u root --password {S1} status", (S1,), ("-u", "root", "--password")),
    (f"/usr/bin/mariadb -u app -p{S1} app", (S1,), ("-u", "app", "app")),
    (f"mariadb-dump -uroot -p{S1} --all-databases", (S1,), ("-uroot", "--all-databases")),
    (
        f"xtrabackup --backup --user=bkp --password={S1} --target-dir=/backups/full",
        (S1,),
        ("--backup", "--user=bkp", "--target-dir=/backups/full"),
    ),
    (f"pt-query-digest -u root -p {S1} /var/log/slow.log", (S1,), ("/var/log/slow.log",)),
    (
        "mysql --defaults-extra-file=/etc/mysql/debian.cnf -e 'SHOW STATUS'",
        (),
        ("--defaults-extra-file=/etc/mysql/debian.cnf", "SHOW STATUS"),
    ),
    ("mysql -u root -p", (), ("-u", "root", "-p")),
    # PostgreSQL
    (
        "/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main"
        " -c config_file=/etc/postgresql/15/main/postgresql.conf",
        (),
        (
            "-D",
            "/var/lib/postgresql/15/main",
            "-c",
            "config_file=/etc/postgresql/15/main/postgresql.conf",
        ),
    ),
    ("'postgres: 15/main: checkpointer'", (), ("postgres: 15/main: checkpointer",)),
    ("/usr/pgsql-16/bin/postmaster -D /var/lib/pgsql/16/data/", (), ("/var/lib/pgsql/16/data/",)),
    ("psql -h db -p 5432 -U app -d app", (), ("-p", "5432", "-U", "app", "-d")),
    ("psql --password -h db -U app", (), ("--password", "-h", "db", "-U", "app")),
    (
        f"psql postgresql://app:{S1}@db.internal:5432/app?sslmode=require",
        (S1,),
        ("postgresql://app:***@db.internal:5432/app?sslmode=require",),
    ),
    (
        f"pg_dump 'host=db port=5432 user=app password={S1} dbname=app' -Fc -f /backups/app.dump",
        (S1,),
        ("host=db port=5432 user=app password=*** dbname=app", "-Fc", "-f", "/backups/app.dump"),
    ),
    (f"env PGPASSWORD={S1} pg_dump -h db -p 5432 app", (S1,), ("PGPASSWORD=***", "-p", "5432")),
    (
        "pg_basebackup -h primary -U replicator -D /var/lib/postgresql/15/main -P -R -X stream",
        (),
        ("-P", "-R", "-X", "stream"),
    ),
    # MongoDB
    ("/usr/bin/mongod --config /etc/mongod.conf", (), ("--config", "/etc/mongod.conf")),
    (
        "mongod --auth --dbpath /var/lib/mongodb --keyFile /etc/mongodb/keyfile --replSet rs0"
        " --bind_ip_all",
        (),
        ("--auth", "--dbpath", "/var/lib/mongodb", "--keyFile", "/etc/mongodb/keyfile"),
    ),
    (
        f"mongosh 'mongodb://admin:{S1}@db1:27017,db2:27017/admin?replicaSet=rs0&authSource=admin'",
        (S1,),
        ("mongodb://admin:***@db1:27017,db2:27017/admin?replicaSet=rs0&authSource=admin",),
    ),
    (
        f"mongosh --username admin --password {S1} --authenticationDatabase admin",
        (S1,),
        ("--username", "admin", "--password", "--authenticationDatabase"),
    ),
    (
        f"mongodump --uri=mongodb+srv://backup:{S1}@cluster0.abcde.mongodb.net/shop --out /backups",
        (S1,),
        ("--uri=mongodb+srv://backup:***@cluster0.abcde.mongodb.net/shop", "/backups"),
    ),
    (f"mongorestore -u admin -p {S1} /backups", (S1,), ("-u", "admin", "-p", "/backups")),
    (f"mongo -u admin -p{S1} admin", (S1,), ("-p***", "admin")),
    # Java services
    (
        "java -Xms4g -Xmx4g -Djavax.net.ssl.keyStore=/etc/app/keystore.jks"
        f" -Djavax.net.ssl.keyStorePassword={S1} -Djavax.net.ssl.trustStorePassword={S2}"
        " -jar /opt/app/app.jar",
        (S1, S2),
        ("-Xmx4g", "-Djavax.net.ssl.keyStore=/etc/app/keystore.jks", "-jar", "/opt/app/app.jar"),
    ),
    (
        "java -Dspring.datasource.url=jdbc:postgresql://db:5432/app"
        f" -Dspring.datasource.username=app -Dspring.datasource.password={S1}"
        f" -jar app.jar --server.port=8080 --spring.redis.password={S2}",
        (S1, S2),
        (
            "-Dspring.datasource.url=jdbc:postgresql://db:5432/app",
            "-Dspring.datasource.username=app",
            "-Dspring.datasource.password=***",
            "--server.port=8080",
        ),
    ),
    (
        f"java -jar app.jar --spring.datasource.url=jdbc:mysql://app:{S1}@db:3306/shop",
        (S1,),
        ("--spring.datasource.url=jdbc:mysql://app:***@db:3306/shop",),
    ),
    (
        "java '-Dsasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule"
        f' required username="app" password="{S1}";\' -cp /opt/kafka/libs/* kafka.Kafka',
        (S1,),
        ("kafka.Kafka",),
    ),
    (
        "/usr/share/elasticsearch/jdk/bin/java -Xms1g -Xmx1g"
        " -Des.path.home=/usr/share/elasticsearch -Des.path.conf=/etc/elasticsearch"
        " -Des.distribution.type=deb -cp /usr/share/elasticsearch/lib/*"
        " -m org.elasticsearch.server/org.elasticsearch.bootstrap.Elasticsearch",
        (),
        ("org.elasticsearch.server/org.elasticsearch.bootstrap.Elasticsearch",),
    ),
    (
        f"elasticsearch -Expack.security.http.ssl.keystore.secure_password={S1}"
        " -Ediscovery.type=single-node -Expack.security.authc.token.enabled=true",
        (S1,),
        ("-Ediscovery.type=single-node", "-Expack.security.authc.token.enabled=true"),
    ),
    (
        "elasticsearch-keystore add --stdin bootstrap.password",
        (),
        ("add", "--stdin", "bootstrap.password"),
    ),
    (
        "/usr/lib/jvm/java-11/bin/java -Xmx8G -cp /opt/cassandra/lib/*"
        " org.apache.cassandra.service.CassandraDaemon",
        (),
        ("org.apache.cassandra.service.CassandraDaemon",),
    ),
    # curl and HTTP
    (
        f"curl -fsS -u admin:{S1} https://es.internal:9200/_cluster/health",
        (S1,),
        ("-fsS", "-u", "admin:***", "https://es.internal:9200/_cluster/health"),
    ),
    (f"curl --user admin:{S1} https://x", (S1,), ("--user", "admin:***")),
    (f"curl --user=admin:{S1} https://x", (S1,), ("--user=admin:***",)),
    (f"curl -uadmin:{S1} https://x", (S1,), ("-uadmin:***",)),
    (f"curl -fsSLu admin:{S1} https://x", (S1,), ("-fsSLu", "admin:***")),
    (f"curl -su admin:{S1} -o /dev/null https://x", (S1,), ("-su", "-o", "/dev/null")),
    ("curl -so /tmp/u https://x/u", (), ("-so", "/tmp/u", "https://x/u")),
    (f"curl -H 'Authorization: Bearer {S1}' https://api", (S1,), ("-H", "Authorization: ***")),
    (f"curl -H 'X-Api-Key: {S1}' -H 'Accept: */*' https://api", (S1,), ("Accept: */*",)),
    (f"curl https://elastic:{S1}@es:9200/", (S1,), ("https://elastic:***@es:9200/",)),
    (
        f"curl -d 'username=bob&password={S1}' https://x/login",
        (S1,),
        ("username=bob&password=***",),
    ),
    (f"curl --oauth2-bearer {S1} https://x", (S1,), ("--oauth2-bearer",)),
    (f"curl -E /etc/ssl/client.pem:{S1} https://x", (S1,), ("/etc/ssl/client.pem:***",)),
    # Environment assignments and shell text
    (f"env PGPASSWORD={S1} psql -h db", (S1,), ("env", "PGPASSWORD=***", "psql", "-h", "db")),
    (
        f"env GITHUB_TOKEN={S1} API_KEY={S2} LANG=C.UTF-8 ./deploy.sh",
        (S1, S2),
        ("LANG=C.UTF-8", "./deploy.sh"),
    ),
    (
        f"/bin/sh -c 'MYSQL_PWD={S1} mysqldump -uroot shop | gzip > /backups/shop.sql.gz'",
        (S1,),
        ("/bin/sh", "-c", "MYSQL_PWD=*** mysqldump -uroot shop | gzip > /backups/shop.sql.gz"),
    ),
    (
        f'bash -c \'export DB_PASSWORD="two {S1}"; exec app --token "{S2} x"\'',
        (S1, S2),
        ("bash", "-c"),
    ),
    (
        f"docker run -d -p 6379:6379 -e REDIS_PASSWORD={S1} redis:7 redis-server --requirepass {S2}",
        (S1, S2),
        ("-p", "6379:6379", "-e", "REDIS_PASSWORD=***", "redis:7", "--requirepass"),
    ),
    (f"docker exec db mysql -uroot -p{S1} -e 'SELECT 1'", (S1,), ("db", "-uroot", "SELECT 1")),
    (f"sudo -u postgres env PGPASSWORD={S1} psql -p 5433", (S1,), ("postgres", "-p", "5433")),
    # Other clients that take a password on the command line
    (f"sshpass -p {S1} ssh -p 2222 backup@nas", (S1,), ("ssh", "-p", "2222", "backup@nas")),
    (
        f"ldapsearch -x -H ldap://ldap -D cn=admin,dc=example,dc=org -w {S1} -b dc=example,dc=org",
        (S1,),
        ("-D", "cn=admin,dc=example,dc=org", "-w", "-b"),
    ),
    (f"sqlplus system/{S1}@//db:1521/ORCLPDB1", (S1,), ("system/***@//db:1521/ORCLPDB1",)),
    (f"expdp userid=system/{S1} directory=dp dumpfile=x.dmp", (S1,), ("directory=dp",)),
    (f"smbclient //nas/backup -U backup%{S1}", (S1,), ("//nas/backup", "-U", "backup%***")),
    (
        f"mount -t cifs //nas/share /mnt -o username=bob,password={S1},uid=1000",
        (S1,),
        ("username=bob,password=***,uid=1000",),
    ),
    (
        f"openssl pkcs12 -export -in c.pem -passout pass:{S1} -out c.p12",
        (S1,),
        ("-in", "c.pem", "-passout", "-out", "c.p12"),
    ),
    (
        "/usr/lib/erlang/erts-13.2/bin/beam.smp -- -root /usr/lib/erlang"
        f" -setcookie {S1} -sname rabbit@db1",
        (S1,),
        ("-setcookie", "-sname", "rabbit@db1"),
    ),
    (f"7z a -p{S1} backup.7z /data", (S1,), ("a", "backup.7z", "/data")),
    (f"zip -P {S1} x.zip f", (S1,), ("x.zip", "f")),
    (f"zip -rP {S1} x.zip /data", (S1,), ("-rP", "x.zip", "/data")),
    (
        f"kubectl create secret generic db --from-literal=password={S1}",
        (S1,),
        ("--from-literal=password=***", "generic"),
    ),
    (f"vault login -method=userpass username=bob password={S1}", (S1,), ("username=bob",)),
    (
        f"memcheck --hosts ssh://admin:{S1}@db1,admin:{S2}@db2 --json r.json",
        (S1, S2),
        ("ssh://admin:***@db1,admin:***@db2", "--json", "r.json"),
    ),
    (
        f'app --config \'{{"user": "app", "password": "{S1}"}}\'',
        (S1,),
        ('{"user": "app", "password": "***"}',),
    ),
    (f"/opt/app/bin/server -password {S1} -token={S2}", (S1, S2), ("-password", "-token=***")),
]

# Command lines without a secret: masking must not change a byte of them.
UNTOUCHED = [
    "/sbin/init splash",
    "/usr/sbin/sshd -D",
    "sshd: root@pts/0",
    "/lib/systemd/systemd --user",
    "'nginx: worker process'",
    "/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock",
    "/usr/bin/kubelet --kubeconfig=/etc/kubernetes/kubelet.conf --config=/var/lib/kubelet/config.yaml",
    "ssh -p 2222 backup@nas",
    "docker run -p 5432:5432 postgres:16",
    "/usr/bin/memcached -m 64 -p 11211 -u memcache -l 127.0.0.1 -P /var/run/memcached/memcached.pid",
    "haproxy -f /etc/haproxy/haproxy.cfg -p /run/haproxy.pid",
    "'php-fpm: pool www'",
    "git clone git@github.com:org/repo.git",
    "rsync -a /data backup@nas:/srv/backup/",
    "scp -P 2222 f user@h:/tmp",
    "ssh-keygen -t ed25519 -f /root/.ssh/id_ed25519",
    "gpg-agent --homedir /root/.gnupg --use-standard-socket --daemon",
    "/usr/sbin/mysqld --key_buffer_size=16M --max_allowed_packet=64M --skip-grant-tables",
    "mongod --auth --port 27017",
    "redis-server '*:6379'",
    "java -Djavax.net.ssl.keyStore=/x -XX:+UseG1GC -cp /opt/app/lib/* com.example.Main",
    "docker login --password-stdin -u ci registry.example.com",
    "vllm serve model --max-num-batched-tokens 8192 --max-model-len 4096",
    "postgres -c password_encryption=scram-sha-256 -c ssl_key_file=/etc/ssl/private/pg.key",
    "python3 -m http.server 8000",
    "sh -c 'echo never > /sys/kernel/mm/transparent_hugepage/enabled'",
]


def _ids(items: list[tuple[str, tuple[str, ...], tuple[str, ...]]]) -> list[str]:
    return [
        shlex.split(line)[0].rsplit("/", 1)[-1] + f"-{i}" for i, (line, _, _) in enumerate(items)
    ]


@pytest.mark.parametrize(("line", "secrets", "kept"), CORPUS, ids=_ids(CORPUS))
def test_corpus_loses_its_secrets_and_keeps_the_rest(
    line: str, secrets: tuple[str, ...], kept: tuple[str, ...]
) -> None:
    argv = shlex.split(line)
    masked = mask_argv(argv)
    shown = " ".join(masked)
    for secret in secrets:
        assert secret not in shown, shown
    for word in kept:
        assert word in masked, (word, masked)
    if secrets:
        assert MASK in shown
    assert len(masked) == len(argv)  # no argument is dropped or added
    assert mask_argv(masked) == masked  # idempotent
    # The same through the kernel's bytes, as a snapshot holds them.
    raw = "\0".join(argv).encode() + b"\0"
    assert mask_cmdline(raw) == "\0".join(masked).encode() + b"\0"


@pytest.mark.parametrize("line", UNTOUCHED)
def test_command_lines_without_secrets_are_not_changed(line: str) -> None:
    argv = shlex.split(line)
    assert mask_argv(argv) == argv
    raw = "\0".join(argv).encode() + b"\0"
    assert mask_cmdline(raw) is raw


def test_option_names_judged_by_their_words() -> None:
    secret = [
        "requirepass", "masterauth", "db-password", "password", "passwd", "api-key", "apiKey",
        "access-token", "aws-secret-access-key", "keyStorePassword", "client_secret", "auth",
        "Authorization", "X-Auth-Token", "setcookie", "credentials", "DB_PASS", "oauth2-bearer",
        "spring.datasource.password", "SetCredential",
    ]  # fmt: skip
    plain = [
        "password-file", "key-buffer-size", "keyFile", "keyStore", "auth-source",
        "authenticationDatabase", "no-auth-warning", "password-stdin", "max-tokens", "PWD",
        "LoadCredential", "PassCredentials", "PassEnvironment", "KeyringMode", "bypass",
        "password_encryption", "token-ttl", "user", "port",
    ]  # fmt: skip
    assert [n for n in secret if not is_secret_name(n)] == []
    assert [n for n in plain if is_secret_name(n)] == []
    assert is_secret_variable("PGPASSWORD") and is_secret_variable("AWS_ACCESS_KEY_ID")
    assert not is_secret_variable("PWD") and not is_secret_variable("PATH")


def test_a_value_beginning_with_a_dash_is_still_a_value_unless_a_long_option() -> None:
    assert mask_argv(["redis-server", "--requirepass", "-x9!"]) == [
        "redis-server",
        "--requirepass",
        MASK,
    ]
    assert mask_argv(["app", "--token", "--verbose"]) == ["app", "--token", "--verbose"]


def test_empty_values_show_as_they_are() -> None:
    assert mask_argv(["mysqldump", "--password=", "db"]) == ["mysqldump", "--password=", "db"]
    assert mask_argv(["redis-server", "--user", "", ">"]) == ["redis-server", "--user", "", ">"]
    assert mask_argv(["redis-cli", "-u", "redis://u:@h"]) == ["redis-cli", "-u", "redis://u:@h"]


def test_the_collection_script_is_replaced_by_a_stand_in() -> None:
    script = 'LC_ALL=C; export LC_ALL\nm() { printf \'\\n:MEMCHECK:%s%s:%s\\n\' "$a" "$b" "$1"; }\n'
    argv = ["/usr/bin/timeout", "28", "sh", "-c", script, "sh"]
    assert mask_argv(argv) == ["/usr/bin/timeout", "28", "sh", "-c", SCRIPT_STAND_IN, "sh"]
    # testinfra's own shell holds the whole command (wrapper and script) in one argument.
    outer = ["/bin/sh", "-c", "sh -c 'wrapper' sh " + shlex.quote(script)]
    assert mask_argv(outer) == ["/bin/sh", "-c", SCRIPT_STAND_IN]
    assert mask_argv(mask_argv(outer)) == mask_argv(outer)


def test_url_passwords_and_memcheck_targets() -> None:
    assert mask_url_passwords("ssh://u:p@ss@h:2/x?y=1") == "ssh://u:***@h:2/x?y=1"
    assert mask_url_passwords("paramiko://u:p%40ss@h") == "paramiko://u:***@h"
    assert mask_url_passwords("ssh://user@host") == "ssh://user@host"
    assert mask_url_passwords(f"admin:{S1}@db1") == "admin:***@db1"
    assert mask_url_passwords(f"http://h/x/{S1}:y@z") == f"http://h/x/{S1}:y@z"  # a path


def test_environ_masks_secret_variables_and_searches_the_others() -> None:
    environ = (
        b"PATH=/usr/bin:/bin\0PWD=/var/lib/app\0"
        + f"DB_PASSWORD={S1}\0AWS_SECRET_ACCESS_KEY={S2}\0".encode()
        + f"DATABASE_URL=postgres://app:{S1}@db/app\0".encode()
        + f"ES_JAVA_OPTS=-Xms2g -Djavax.net.ssl.trustStorePassword={S2}\0".encode()
        + b"LANG=\xff\xfeC\0"  # not UTF-8: kept byte for byte
    )
    masked = mask_environ(environ)
    assert S1.encode() not in masked and S2.encode() not in masked
    entries = masked.split(b"\0")
    assert entries[:4] == [
        b"PATH=/usr/bin:/bin",
        b"PWD=/var/lib/app",
        b"DB_PASSWORD=***",
        b"AWS_SECRET_ACCESS_KEY=***",
    ]
    assert b"DATABASE_URL=postgres://app:***@db/app" in entries
    assert b"ES_JAVA_OPTS=-Xms2g -Djavax.net.ssl.trustStorePassword=***" in entries
    assert b"LANG=\xff\xfeC" in entries
    assert mask_environ(masked) == masked


def test_files_of_commands_keep_their_lines() -> None:
    unit = (
        "[Service]\n"
        'Environment="JAVA_OPTS=-Xmx2g -Dspring.datasource.password=' + S1 + '"\n'
        "Environment=DB_PASSWORD=" + S2 + " LANG=C\n"
        "LoadCredential=db.password\n"
        "ExecStart=/usr/bin/redis-server /etc/redis/redis.conf \\\n"
        "    --requirepass " + S1 + "\n"
        "ExecStartPost=/bin/sh -c 'echo never > /sys/kernel/mm/transparent_hugepage/enabled'\n"
        "MemoryMax=4G\n"
    )
    masked = mask_command_file(unit)
    assert S1 not in masked and S2 not in masked
    assert masked.splitlines() == [
        "[Service]",
        'Environment="JAVA_OPTS=-Xmx2g -Dspring.datasource.password=***"',
        "Environment=DB_PASSWORD=*** LANG=C",
        "LoadCredential=db.password",
        "ExecStart=/usr/bin/redis-server /etc/redis/redis.conf \\",
        "    --requirepass ***",
        "ExecStartPost=/bin/sh -c 'echo never > /sys/kernel/mm/transparent_hugepage/enabled'",
        "MemoryMax=4G",
    ]
    crontab = (
        "SHELL=/bin/sh\nMAILTO=ops@example.com\n"
        f"15 2 * * * root MYSQL_PWD={S1} mysqldump -uroot -p{S2} shop > /b/shop.sql # nightly\n"
        "0 * * * * root sync; echo 3 > /proc/sys/vm/drop_caches\n"
    )
    masked = mask_command_file(crontab)
    assert masked.splitlines() == [
        "SHELL=/bin/sh",
        "MAILTO=ops@example.com",
        "15 2 * * * root MYSQL_PWD=*** mysqldump -uroot -p*** shop > /b/shop.sql # nightly",
        "0 * * * * root sync; echo 3 > /proc/sys/vm/drop_caches",
    ]
    assert mask_command_file(masked) == masked


def test_kernel_log_audit_records_lose_the_secret() -> None:
    argv = f"redis-server\0--requirepass\0{S1}".encode()
    log = (
        b"[  1.0] Linux version 6.1\n"
        b"[  2.0] audit: type=1327 audit(1.2:3): proctitle=" + argv.hex().upper().encode() + b"\n"
        b'[  3.0] audit: type=1327 audit(1.2:4): proctitle="curl -u bob:' + S2.encode() + b'"\n'
        b"[  4.0] Out of memory: Killed process 812 (postgres)\n"
    )
    masked = mask_kernel_log(log)
    assert S1.encode() not in masked and S2.encode() not in masked
    lines = masked.split(b"\n")
    assert lines[0] == b"[  1.0] Linux version 6.1"
    hexed = lines[1].rsplit(b"proctitle=", 1)[1]
    assert bytes.fromhex(hexed.decode()) == b"redis-server\0--requirepass\0***"
    assert lines[2].endswith(b'proctitle="curl -u bob:***"')
    assert lines[3] == b"[  4.0] Out of memory: Killed process 812 (postgres)"
    assert mask_kernel_log(masked) == masked


def test_snapshot_files_are_masked_by_what_their_path_holds() -> None:
    secret_cmdline = f"mysqld\0--password={S1}\0".encode()
    files = {
        "/proc/812/cmdline": secret_cmdline,
        "/proc/812/task/813/cmdline": secret_cmdline,
        "/proc/812/environ": f"MYSQL_PWD={S1}\0".encode(),
        "/proc/812/status": b"Name:\tmysqld\n",
        "/proc/cmdline": f"BOOT_IMAGE=/vmlinuz ro rd.iscsi.password={S1} quiet\n".encode(),
        "/etc/cron.d/backup": f"0 2 * * * root mysqldump -p{S1} db\n".encode(),
        "/etc/systemd/system/app.service": f"[Service]\nEnvironment=TOKEN={S1}\n".encode(),
        "/.memcheck/kernel.log": b"proctitle=" + secret_cmdline.hex().encode() + b"\n",
        # Not a file of commands: read as it is (sysctl keys are not command lines).
        "/etc/sysctl.d/90-x.conf": b"net.ipv4.tcp_fastopen_key = 00-11\n",
        "/proc/meminfo": b"MemTotal: 1 kB\n",
    }
    before = dict(files)
    mask_snapshot_files(files)
    for path in (
        "/proc/812/cmdline",
        "/proc/812/task/813/cmdline",
        "/proc/812/environ",
        "/proc/cmdline",
        "/etc/cron.d/backup",
        "/etc/systemd/system/app.service",
    ):
        assert S1.encode() not in files[path], path
        assert MASK.encode() in files[path], path
    hexed = files["/.memcheck/kernel.log"].split(b"=", 1)[1].strip()
    assert bytes.fromhex(hexed.decode()) == b"mysqld\0--password=***\0"
    assert files["/proc/812/cmdline"] == b"mysqld\0--password=***\0"
    assert files["/proc/cmdline"] == b"BOOT_IMAGE=/vmlinuz ro rd.iscsi.password=*** quiet\n"
    for path in ("/proc/812/status", "/etc/sysctl.d/90-x.conf", "/proc/meminfo"):
        assert files[path] is before[path]
    again = dict(files)
    mask_snapshot_files(again)
    assert again == files


def test_reports_show_masked_command_lines() -> None:
    argv = ("redis-server", "--requirepass", S1, "--port", "6379", "--masterauth=" + S2)
    assert shown_cmdline(argv) == "redis-server --requirepass *** --port 6379 --masterauth=***"
    assert cmdline_text(argv) == "redis-server --requirepass *** --port 6379 --masterauth=***"
    assert mask_text("mysql -uroot -p" + S1) == "mysql -uroot -p***"


PMG = builtin_checks()["process_memory_growth"]


def _proc(pid: int, comm: str, rss_mb: int, argv: list[str]) -> dict[str, bytes]:
    base = f"/proc/{pid}/"
    return {
        base + "comm": comm.encode() + b"\n",
        base + "status": (
            f"Name:\t{comm}\nPid:\t{pid}\nPPid:\t1\nVmRSS:\t{rss_mb * 1024} kB\n".encode()
        ),
        base + "cmdline": "\0".join(argv).encode() + b"\0",
    }


REDIS_ARGV = ["/usr/bin/redis-server", "*:6379", "--requirepass", S1, "--masterauth", S2]


def test_process_memory_growth_evidence_is_masked_even_from_an_unmasked_snapshot() -> None:
    # A Snapshot built in memory has not been through mask_snapshot_files: the facts mask.
    files = {**_proc(600, "redis-server", 900, REDIS_ARGV), **_proc(700, "sshd", 8, ["sshd"])}
    facts = Facts(snapshot_from(files, hostname="cache1"))
    result = evaluate(PMG, facts, PMG.meta.defaults())
    text = json.dumps(dataclasses.asdict(result))
    assert S1 not in text and S2 not in text
    sample = next(e for e in result.evidence if e.get("pid") == 600)
    assert sample["cmdline"] == "/usr/bin/redis-server *:6379 --requirepass *** --masterauth ***"
    found = detect(facts.processes)
    assert S1 not in json.dumps(found.as_dicts())
    assert found.profiles == ("redis",)


def test_a_baseline_with_unmasked_command_lines_still_matches() -> None:
    # results.json written before masking holds the raw command line; the restarted process
    # (a new pid) is matched by name and command line all the same, and shown masked.
    day1 = "2026-11-19T02:00:00Z"
    old = Facts(snapshot_from(_proc(600, "redis-server", 900, REDIS_ARGV), hostname="cache1"))
    first = dataclasses.asdict(evaluate(PMG, old, PMG.meta.defaults()))
    for item in first["evidence"]:
        if item.get("pid") == 600:
            item["cmdline"] = " ".join(REDIS_ARGV)  # as an older memcheck wrote it
    baseline = RunResult.from_json(
        {
            "memcheck_version": "old",
            "started_at": day1,
            "finished_at": day1,
            "profiles": ["default"],
            "fail_on": "low",
            "hosts": [
                {
                    "name": "cache1",
                    "source": "ssh://cache1",
                    "collected_at": day1,
                    "results": [first],
                }
            ],
        }
    )
    later = snapshot_from(_proc(4242, "redis-server", 2000, REDIS_ARGV), hostname="cache1")
    result = evaluate(PMG, Facts(later, None, baseline), PMG.meta.defaults())
    assert result.outcome == "fail", result.message
    growth = result.evidence[0]
    assert growth["matched_by"] == "name and command line"
    text = json.dumps(dataclasses.asdict(result))
    assert S1 not in text and S2 not in text


# -- end to end: a real process, a real local run, every file memcheck writes -------------------

SECRET = "hunter2Zq81"


def _python_named(tmp: Path, name: str) -> str:
    """This Python under another name, so that the kernel's comm is that name."""
    link = tmp / "bin" / name
    link.parent.mkdir(exist_ok=True)
    link.symlink_to(sys.executable)
    return str(link)


@pytest.fixture
def secret_processes(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    # 64 MiB resident: among the largest processes, so process_memory_growth samples it.
    code = "import sys, time; b = b'x' * (64 << 20); print('ready', flush=True); time.sleep(600)"
    env = {**os.environ, "DB_PASSWORD": SECRET, "REDISCLI_AUTH": SECRET}
    argvs = [
        [_python_named(tmp_path, "redis-server"), "-c", code, "--requirepass", SECRET,
         "--db-password=" + SECRET, "--masterauth", SECRET],
        [_python_named(tmp_path, "mysqld"), "-c", code, "-p" + SECRET,
         "--url=postgres://app:" + SECRET + "@db/app"],
        ["/bin/sh", "-c", f"PGPASSWORD={SECRET} sleep 600; :"],
    ]  # fmt: skip
    procs = [
        subprocess.Popen(a, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        for a in argvs
    ]
    try:
        for proc in procs[:2]:
            assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        yield procs
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def _files_holding(root: Path, needle: bytes) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if path.name.endswith(".tar.gz"):
                with tarfile.open(path) as tar:
                    for member in tar:
                        handle = tar.extractfile(member) if member.isfile() else None
                        if handle is not None and needle in handle.read():
                            found.append(f"{path}:{member.name}")
            elif needle in data:
                found.append(str(path))
    return found


def test_a_local_run_writes_no_secret_and_no_collection_script(
    tmp_path: Path, secret_processes: list[subprocess.Popen[bytes]]
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    redis_pid = secret_processes[0].pid
    outputs = []
    for args in (
        ("run", "--profile", "auto", "--report-dir", "live"),
        ("collect", "--profile", "auto", "--out", "snap"),
        ("collect", "--profile", "auto", "--out", "snap.tar.gz"),
        ("run", "--profile", "auto", "--root", "snap", "--report-dir", "offline"),
    ):
        proc = run_memcheck(*args, cwd=work)
        assert proc.returncode in (0, 1, 3), proc.stderr
        outputs.append(proc.stdout + proc.stderr)
    # The process was seen, and shown masked: the run would have leaked it otherwise.
    cmdline = (work / "snap" / "proc" / str(redis_pid) / "cmdline").read_bytes()
    assert b"\0--requirepass\0***\0--db-password=***\0--masterauth\0***\0" in cmdline
    for reports in ("live", "offline"):
        data = json.loads((work / reports / "results.json").read_text())
        host = data["hosts"][0]
        assert {w["profile"] for w in host["detected"]} >= {"redis", "mysql"}
        shown = json.dumps(host)
        assert "--requirepass ***" in shown and "-p***" in shown
        for name in ("results.json", "junit.xml", "report.html"):
            assert (work / reports / name).stat().st_size > 0
    # No file written, and nothing printed, holds the secret or memcheck's own script.
    for needle in (SECRET.encode(), b"unset TAR_OPTIONS", b":MEMCHECK:%s%s:"):
        assert _files_holding(work, needle) == [], needle
        assert all(needle.decode() not in out for out in outputs), needle
