trap 'echo got TERM' TERM
kill -TERM $$
echo after
trap 'echo bye' EXIT
echo last
