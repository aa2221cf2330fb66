#!/bin/sh
# Conformance: every stream in tests/conformance/ (coded by a trained model of models/, found by
# the id in its sequence header as models/<id>.lvcm) decodes to the MD5 recorded in
# tests/conformance/md5.txt, at 1 and 3 threads.
# Usage: test_conformance.sh LVC SOURCE_ROOT
lvc=$1
root=$2
dir="$root/tests/conformance"
LVC_MODEL_PATH="$root/models"
export LVC_MODEL_PATH
pass=0
fail=0
while read -r md5 name; do
    [ -n "$name" ] || continue
    for t in 1 3; do
        got=$("$lvc" decode "$dir/$name" --md5 --quiet --threads "$t" 2>&1)
        if [ "$got" = "md5 $md5" ]; then
            pass=$((pass + 1))
        else
            echo "FAIL $name (threads $t): expected md5 $md5, got: $got"
            fail=$((fail + 1))
        fi
    done
done < "$dir/md5.txt"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
