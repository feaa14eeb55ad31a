a=foo
b="$a bar"
echo "$b"
echo "${a}baz ${undefined:-default} ${#b}"
unset a
echo "unset:[${a}]"
set -- x y z
echo "args $# $2 $*"
true; echo "true $?"
false; echo "false $?"
sh -c 'exit 7'; echo "child $?"
