mkdir -p a/b/c && echo made
[ -d a/b/c ] && echo exists
echo data > a/b/file
rm -r a && echo removed
[ -e a ]; echo "gone $?"
mkdir x && rmdir x && echo rmdir-ok
mkdir y; mkdir y 2>/dev/null || echo "mkdir existing fails"
