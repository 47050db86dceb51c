"""The dependence verdicts checked by execution: random loops over three arrays are run once in scalar
order and once the way a vector rewrite runs them (statement by statement, each for W lanes, loads of
a statement before its store). Whenever the analysis says "vectorizable" for W lanes, the two runs
must leave memory identical; a wrong "vectorizable" would show up as a difference."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from simdlens.analysis import analyze_file
from simdlens.analysis.ir import (
    IV,
    Access,
    Binary,
    Call,
    Cast,
    Const,
    Expr,
    If,
    Let,
    Load,
    LoopIR,
    Select,
    Stmt,
    Store,
    Unary,
    Var,
)
from simdlens.core import LoopVerdict

_M = (1 << 61) - 1


def _h(*xs: object) -> int:
    v = 1469598103934665603
    for x in xs:
        v = (v * 1099511628211 + (x if isinstance(x, int) else sum(map(ord, str(x))) * 7919)) % _M
    return v


@dataclass
class _Env:
    iv: int
    locals: dict[str, int] = field(default_factory=dict)


class _Machine:
    def __init__(self) -> None:
        self.cells: dict[tuple[str, int], int] = {}

    def load(self, base: str, idx: int) -> int:
        return self.cells.get((base, idx), _h("init", base, idx))

    def index(self, a: Access, env: _Env) -> int:
        if a.index is not None:
            return self.ev(a.index, env) % 8  # few distinct targets: conflicts are likely
        assert not a.symbolic and a.coeff is not None
        return a.coeff * env.iv + a.offset

    def ev(self, e: Expr, env: _Env) -> int:
        if isinstance(e, Const):
            return int(e.value * 1000)
        if isinstance(e, Var):
            return env.locals[e.name]
        if isinstance(e, IV):
            return env.iv
        if isinstance(e, Load):
            return self.load(e.access.base, self.index(e.access, env))
        if isinstance(e, Unary):
            return _h("u", e.op, self.ev(e.operand, env))
        if isinstance(e, Binary):
            a, b = self.ev(e.lhs, env), self.ev(e.rhs, env)
            if e.op in ("<", "<=", ">", ">=", "==", "!=", "&&", "||"):
                return int(a % 5 < b % 5)
            return _h(e.op, a, b)
        if isinstance(e, Select):
            return self.ev(e.then, env) if self.ev(e.cond, env) % 2 else self.ev(e.else_, env)
        if isinstance(e, Call):
            return _h(e.func, *(self.ev(x, env) for x in e.args))
        if isinstance(e, Cast):
            return self.ev(e.operand, env)
        raise AssertionError(e)

    def scalar(self, s: Stmt, env: _Env) -> None:
        if isinstance(s, Store):
            v = self.ev(s.value, env)
            self.cells[(s.access.base, self.index(s.access, env))] = v
        elif isinstance(s, Let):
            env.locals[s.name] = self.ev(s.value, env)
        elif isinstance(s, If):
            for x in (s.then if self.ev(s.cond, env) % 2 else s.else_):
                self.scalar(x, env)
        else:
            raise AssertionError(s)

    def vector(self, s: Stmt, envs: list[_Env]) -> None:
        if isinstance(s, Store):
            vals = [(self.index(s.access, e), self.ev(s.value, e)) for e in envs]  # all loads first
            for idx, v in vals:  # then the stores, in lane order
                self.cells[(s.access.base, idx)] = v
        elif isinstance(s, Let):
            for e in envs:
                e.locals[s.name] = self.ev(s.value, e)
        elif isinstance(s, If):
            mask = [self.ev(s.cond, e) % 2 == 1 for e in envs]
            on = [e for e, m in zip(envs, mask, strict=True) if m]
            off = [e for e, m in zip(envs, mask, strict=True) if not m]
            for x in s.then:
                self.vector(x, on)
            for x in s.else_:
                self.vector(x, off)
        else:
            raise AssertionError(s)


def run_scalar(loop: LoopIR) -> dict[tuple[str, int], int]:
    m = _Machine()
    lower, trip = int(loop.lower), int(loop.trip_count)
    for k in range(trip):
        env = _Env(lower + loop.step * k)
        for s in loop.body:
            m.scalar(s, env)
    return m.cells


def run_vector(loop: LoopIR, lanes: int) -> dict[tuple[str, int], int]:
    m = _Machine()
    lower, trip = int(loop.lower), int(loop.trip_count)
    for k0 in range(0, trip, lanes):
        envs = [_Env(lower + loop.step * k) for k in range(k0, min(trip, k0 + lanes))]
        for s in loop.body:
            m.vector(s, envs)
    return m.cells


ARRAYS = ("A", "B", "C")


@st.composite
def subscripts(draw: st.DrawFn) -> str:
    c = draw(st.sampled_from([1, 1, 1, 2, 3]))
    o = draw(st.integers(-9, 9))
    lin = "i" if c == 1 else f"{c} * i"
    return f"{lin} + {o}" if o >= 0 else f"{lin} - {-o}"


@st.composite
def loops(draw: st.DrawFn) -> str:
    stmts = []
    temps = 0
    for _ in range(draw(st.integers(1, 3))):
        terms = [f"{draw(st.sampled_from(ARRAYS))}[{draw(subscripts())}]" for _ in range(draw(st.integers(1, 2)))]
        if draw(st.booleans()):
            terms.append("1.5f")
        rhs = " + ".join(terms)
        if temps == 0 and draw(st.integers(0, 4)) == 0:
            stmts.append(f"float t = {rhs};")
            temps = 1
            rhs = "t * 2.0f"
        if draw(st.integers(0, 5)) == 0:
            rhs = f"B[idx[i]] + {rhs}"  # a gather
        target = f"{draw(st.sampled_from(ARRAYS))}[{draw(subscripts())}]"
        if draw(st.integers(0, 6)) == 0:
            target = f"{draw(st.sampled_from(ARRAYS))}[idx[i]]"  # a scatter
        stmt = f"{target} = {rhs};"
        if draw(st.integers(0, 3)) == 0:
            stmt = f"if ({draw(st.sampled_from(ARRAYS))}[i] > 0.0f) {stmt}"
        stmts.append(stmt)
    step = draw(st.sampled_from([1, 1, 2]))
    upper = 30 + draw(st.integers(0, 40))
    return (f"float A[512], B[512], C[512];\nint idx[512];\nvoid f(void)\n{{\n"
            f"    for (int i = 12; i < {upper}; i += {step}) {{\n        " + "\n        ".join(stmts) + "\n    }\n}\n")


SKIP_FACTS = {"reorder", "split", "symbolic_dependence", "scan"}  # these need a transformation first


@settings(max_examples=300, deadline=None)
@given(loops())
def test_vectorizable_verdicts_hold_when_executed(src: str) -> None:
    fa = analyze_file(src.encode(), "sim.c", "c")
    (a,) = fa.analyses
    if a.verdict != LoopVerdict.VECTORIZABLE or a.facts & SKIP_FACTS:
        return
    assert a.loop is not None
    want = run_scalar(a.loop)
    for lanes in (2, 4, 8, 16):
        if a.max_lanes is not None and lanes > a.max_lanes:
            continue
        assert run_vector(a.loop, lanes) == want, f"{lanes} lanes differ for\n{src}"


def test_the_simulator_catches_a_recurrence() -> None:
    src = "float A[512], B[512], C[512];\nvoid f(void) { for (int i = 12; i < 60; i++) A[i] = A[i - 1] * B[i]; }\n"
    (a,) = analyze_file(src.encode(), "sim.c", "c").analyses
    assert a.verdict == LoopVerdict.NOT_VECTORIZABLE and a.loop is not None
    assert run_vector(a.loop, 4) != run_scalar(a.loop)
