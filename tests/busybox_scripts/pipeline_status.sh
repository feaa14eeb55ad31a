false | true; echo "false|true $?"
true | false; echo "true|false $?"
seq 1 100000 | head -n 2
echo "head-closed $?"
