cat > script.sh <<'EOT'
#!@BUSYBOX@ sh
echo "script $0 args: $# $1 $2"
exit 6
EOT
chmod +x script.sh
./script.sh foo bar
echo "status $?"
