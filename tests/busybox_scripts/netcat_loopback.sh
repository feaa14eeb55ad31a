# nc over the loopback: a listener in the background, a client sending to it (AF_INET through socketcall)
port=$((20000 + $$ % 20000))
nc -l -p $port > received.txt &
sleep 1
echo "hello over tcp" | nc -w 2 127.0.0.1 $port
wait
cat received.txt
