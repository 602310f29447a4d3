;; A small module for the README: arithmetic, recursion, memory and a host import.
(module
  (import "env" "log" (func $log (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "Hello from wasm!")

  (func (export "add") (param $a i32) (param $b i32) (result i32)
    local.get $a
    local.get $b
    i32.add)

  (func $fib (export "fib") (param $n i32) (result i32)
    local.get $n
    i32.const 2
    i32.lt_u
    if (result i32)
      local.get $n
    else
      local.get $n
      i32.const 1
      i32.sub
      call $fib
      local.get $n
      i32.const 2
      i32.sub
      call $fib
      i32.add
    end)

  ;; Sums the bytes of [ptr, ptr+len) and reports the sum to the host.
  (func (export "checksum") (param $ptr i32) (param $len i32) (result i32)
    (local $sum i32)
    block $done
      loop $next
        local.get $len
        i32.eqz
        br_if $done
        local.get $sum
        local.get $ptr
        i32.load8_u
        i32.add
        local.set $sum
        local.get $ptr
        i32.const 1
        i32.add
        local.set $ptr
        local.get $len
        i32.const 1
        i32.sub
        local.set $len
        br $next
      end
    end
    local.get $sum
    call $log
    local.get $sum)

  (func (export "crash") (result i32)
    i32.const 70000
    i32.load))
