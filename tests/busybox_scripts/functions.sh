greet() { echo "hello $1 ($#)"; return 2; }
greet world extra; echo "ret $?"
fact() {
  if [ $1 -le 1 ]; then echo 1; else echo $(( $1 * $(fact $(( $1 - 1 ))) )); fi
}
fact 6
counter=0
inc() { counter=$((counter + 1)); }
inc; inc; inc
echo "counter $counter"
