// A JavaScript workload for tools/realworld/run.py (Duktape's `duk`): recursion, closures,
// objects, arrays and sorting, strings, regular expressions, JSON, Math. It throws nothing:
// Duktape unwinds exceptions with longjmp, which the wasm build lacks (no setjmp in wasi-libc
// with clang 14), so there a throw aborts.
var scale = typeof SCALE === "number" ? SCALE : 1;

function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
print("fib(" + (16 + scale) + ") =", fib(16 + scale));

var seed = 42;
function rand() { seed = (seed * 1103515245 + 12345) % 2147483648; return seed; }
var a = [];
for (var i = 0; i < 2000 * scale; i++) a.push(rand() % 100000);
a.sort(function (x, y) { return x - y; });
print("sorted:", a[0], a[a.length >> 1], a[a.length - 1]);

var parts = [];
for (i = 1; i <= 800 * scale; i++) parts.push(i + ":" + (i * 7).toString(16) + ":" + (i / 3).toFixed(3));
var s = parts.join(",");
print("string:", s.length, s.substring(0, 40));
var sum = 0, re = /(\d+):([0-9a-f]+)/g, m;
while ((m = re.exec(s)) !== null) sum += parseInt(m[2], 16) - parseInt(m[1], 10);
print("regexp sum:", sum);
print("replace:", s.substring(0, 60).replace(/\d/g, "#"));

function counter() { var n = 0; return function () { n += 1; return n; }; }
var c = counter();
for (i = 0; i < 5000 * scale; i++) c();
print("closure:", c());

var acc = 0;
for (i = 1; i <= 5000 * scale; i++) acc += Math.sin(i) * Math.sqrt(i);
print("float:", acc.toFixed(6));

var words = {};
"the quick brown fox jumps over the lazy dog the end".split(" ").forEach(function (w) {
  words[w] = (words[w] || 0) + 1;
});
var keys = Object.keys(words).sort();
print(keys.map(function (k) { return k + "=" + words[k]; }).join(" "));

function Point(x, y) { this.x = x; this.y = y; }
Point.prototype.norm2 = function () { return this.x * this.x + this.y * this.y; };
var pts = [];
for (i = 0; i < 300 * scale; i++) pts.push(new Point(i % 17, i % 29));
var total = pts.reduce(function (t, p) { return t + p.norm2(); }, 0);
print("objects:", total);

var obj = { name: "wasm2py", list: [1, 2.5, "three", null, true], nested: { k: [keys.length] } };
var text = JSON.stringify(obj);
print("json:", text, JSON.parse(text).nested.k[0]);
