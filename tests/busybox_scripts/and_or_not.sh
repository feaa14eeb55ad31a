true && echo and-ok
false || echo or-ok
false && echo never
! false && echo negated
true || echo never2
! true; echo "not-true $?"
