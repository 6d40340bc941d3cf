#!/bin/sh
# frees memory
sync
sysctl -w vm.drop_caches=1
