// A compute-heavy JavaScript workload for tools/bench/tier_up_realworld.py --heavy (Duktape's
// `duk`; natively ~0.5 s): bench.js's kinds of work, scaled up. It throws nothing (see bench.js).
function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
print("fib(25) =", fib(25));

var seed = 42;
function rand() { seed = (seed * 1103515245 + 12345) % 2147483648; return seed; }
var a = [];
for (var i = 0; i < 40000; i++) a.push(rand() % 100000);
a.sort(function (x, y) { return x - y; });
print("sorted:", a[0], a[a.length >> 1], a[a.length - 1]);

var parts = [];
for (i = 1; i <= 20000; i++) parts.push(i + ":" + (i * 7).toString(16) + ":" + (i / 3).toFixed(3));
var s = parts.join(",");
print("string:", s.length, s.substring(0, 40));
var sum = 0, re = /(\d+):([0-9a-f]+)/g, m;
while ((m = re.exec(s)) !== null) sum += parseInt(m[2], 16) - parseInt(m[1], 10);
print("regexp sum:", sum);

var acc = 0;
for (i = 1; i <= 200000; i++) acc += Math.sin(i) * Math.sqrt(i);
print("float:", acc.toFixed(6));

function Point(x, y) { this.x = x; this.y = y; }
Point.prototype.norm2 = function () { return this.x * this.x + this.y * this.y; };
var pts = [];
for (i = 0; i < 30000; i++) pts.push(new Point(i % 17, i % 29));
var total = pts.reduce(function (t, p) { return t + p.norm2(); }, 0);
print("objects:", total);

var objs = [];
for (i = 0; i < 3000; i++) objs.push({ id: i, name: "n" + i, tags: [i % 3, i % 5] });
var text = JSON.stringify(objs);
print("json:", text.length, JSON.parse(text)[2999].name);
