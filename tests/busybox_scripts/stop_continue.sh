sleep 1 & p=$!
kill -STOP $p
kill -CONT $p
wait $p
echo "continued child status $?"
sleep 5 & p=$!
kill -STOP $p
kill -KILL $p
wait $p
echo "stopped child killed: $?"
