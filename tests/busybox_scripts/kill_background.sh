sleep 10 &
pid=$!
kill $pid
wait $pid
echo "status $?"
sleep 10 &
kill -9 $!
wait $!
echo "status $?"
