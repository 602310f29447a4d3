; A Scheme workload for tools/realworld/run.py (TinyScheme): recursion, tail calls, closures,
; lists, vectors, strings, association lists and higher-order procedures. It signals no error.
(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))
(display "fib(17) = ") (display (fib 17)) (newline)

(define (count-up i n acc) (if (= i n) acc (count-up (+ i 1) n (+ acc i))))
(display "tail calls: ") (display (count-up 0 20000 0)) (newline)

(define seed 42)
; (every product stays below 2**31, modulo's own e * b included: TinyScheme's integers are C
; longs, 32 bits in wasm32 and 64 natively, and overflow is undefined in C)
(define (rand) (set! seed (modulo (+ (* seed 1105) 12345) 32768)) seed)
(define (make-list-of n) (if (= n 0) '() (cons (modulo (rand) 1000) (make-list-of (- n 1)))))
(define (insert x sorted)
  (cond ((null? sorted) (list x)) ((<= x (car sorted)) (cons x sorted))
        (else (cons (car sorted) (insert x (cdr sorted))))))
(define (sort-list l) (if (null? l) '() (insert (car l) (sort-list (cdr l)))))
(define sorted (sort-list (make-list-of 300)))
(display "sorted: ") (display (list (car sorted) (list-ref sorted 150) (list-ref sorted 299)))
(newline)

(define (make-counter) (let ((n 0)) (lambda () (set! n (+ n 1)) n)))
(define c (make-counter))
(define (repeat k f) (if (> k 0) (begin (f) (repeat (- k 1) f))))
(repeat 3000 c)
(display "closure: ") (display (c)) (newline)

; (no vector-ref/vector-set!/string-ref: this TinyScheme snapshot rejects exact indexes)
(define (squares i n) (if (= i n) '() (cons (* i i) (squares (+ i 1) n))))
(define (sum l s) (if (null? l) s (sum (cdr l) (+ s (car l)))))
(display "squares: ") (display (sum (squares 0 500) 0)) (newline)
(define (filter p l) (cond ((null? l) '()) ((p (car l)) (cons (car l) (filter p (cdr l))))
                           (else (filter p (cdr l)))))
(display "filter: ") (display (length (filter even? (squares 0 777)))) (newline)

(define words '(the quick brown fox jumps over the lazy dog the end))
(define (tally ws table)
  (if (null? ws) table
      (let ((hit (assq (car ws) table)))
        (if hit (begin (set-cdr! hit (+ (cdr hit) 1)) (tally (cdr ws) table))
            (tally (cdr ws) (cons (cons (car ws) 1) table))))))
(display "tally: ") (display (reverse (tally words '()))) (newline)

(define (string-repeat s k) (if (= k 0) "" (string-append s (string-repeat s (- k 1)))))
(define big (string-repeat "wasm2py " 100))
(display "string: ") (display (string-length big)) (display " ")
(display (substring big 0 15)) (newline)
(display "map: ") (display (map (lambda (x) (* x x)) '(1 2 3 4 5 6 7 8 9 10))) (newline)
(display "apply: ") (display (apply + (map (lambda (x) (* 2 x)) '(1 2 3 4 5)))) (newline)
(display "float: ") (display (exact->inexact (/ (fib 12) 7))) (newline)
