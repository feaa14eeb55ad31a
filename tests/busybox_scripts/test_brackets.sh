[ 1 -lt 2 ] && echo lt
[ abc = abc ] && echo streq
[ abc != abd ] && echo strne
[ -z "" ] && echo empty
[ -n x ] && echo nonempty
test 3 -ge 4 || echo not-ge
mkdir d; [ -d d ] && echo isdir
echo x > f; [ -f f ] && echo isfile; [ -s f ] && echo nonzero
[ -e missing ]; echo "missing $?"
[ ! -x f ] && echo notexec
chmod +x f; [ -x f ] && echo exec
[ 1 -eq 1 -a 2 -eq 2 ] && echo both
