; A compute-heavy Scheme workload for tools/bench/tier_up_realworld.py --heavy (TinyScheme;
; natively ~0.5 s): bench.scm's kinds of work, scaled up. It signals no error.
(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))
(display "fib(20) = ") (display (fib 20)) (newline)

(define (count-up i n acc) (if (= i n) acc (count-up (+ i 1) n (+ acc i))))
(display "tail calls: ") (display (count-up 0 60000 0)) (newline)

(define seed 42)
; (products stay below 2**31: see bench.scm)
(define (rand) (set! seed (modulo (+ (* seed 1105) 12345) 32768)) seed)
(define (make-list-of n acc) (if (= n 0) acc (make-list-of (- n 1) (cons (modulo (rand) 1000) acc))))
(define (insert x sorted)
  (cond ((null? sorted) (list x)) ((<= x (car sorted)) (cons x sorted))
        (else (cons (car sorted) (insert x (cdr sorted))))))
(define (sort-list l acc) (if (null? l) acc (sort-list (cdr l) (insert (car l) acc))))
(define sorted (sort-list (make-list-of 400 '()) '()))
(display "sorted: ") (display (list (car sorted) (list-ref sorted 200) (list-ref sorted 399)))
(newline)

(define (make-counter) (let ((n 0)) (lambda () (set! n (+ n 1)) n)))
(define c (make-counter))
(define (repeat k f) (if (> k 0) (begin (f) (repeat (- k 1) f))))
(repeat 50000 c)
(display "closure: ") (display (c)) (newline)

(define words '(the quick brown fox jumps over the lazy dog the end))
(define (tally ws table)
  (if (null? ws) table
      (let ((hit (assq (car ws) table)))
        (if hit (begin (set-cdr! hit (+ (cdr hit) 1)) (tally (cdr ws) table))
            (tally (cdr ws) (cons (cons (car ws) 1) table))))))
(define (tally-times k t) (if (= k 0) t (tally-times (- k 1) (tally words t))))
(display "tally: ") (display (reverse (tally-times 300 '()))) (newline)
