"""Recursive-descent parser: filter text -> :mod:`raredesk.filters.nodes` tree.

Grammar (``docs/filter-language.md`` has the full description with examples)::

    filter     := expr END | END
    expr       := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | primary
    primary    := "(" expr ")"
                | INHERITANCE [ "(" args ")" ]
                | "in" location
                | operand [ test ]
    location   := REGION ("," REGION)* | "(" REGION ("," REGION)* ")"
                | "bed" STRING | "panel" STRING
    operand    := SAMPLE_FUNC "(" sample ")" | FIELD
    test       := CMP value
                | ["not"] "in" ( "(" value ("," value)* ")" | "panel" STRING | "case_panels" )
                | ["not"] "has" ( value | "(" value ("," value)* ")" )
                | ("~" | "!~") value
                | "is" ["not"] "missing"
                | ["not"] "between" value "and" value
    args       := arg ("," arg)*
    arg        := sample | NAME "=" NUMBER
    CMP        := "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">="

Keywords are case-insensitive; field names, sample ids and values are not.
The parser knows no case: it checks only the shape of the text.
"""

from __future__ import annotations

from raredesk.filters import nodes as n
from raredesk.filters.errors import FilterError, suggest
from raredesk.filters.lexer import Token, tokenize

INHERITANCE_MODES = ("de_novo", "ar_hom", "comp_het", "x_linked", "ad_inherited", "mendelian_error")
SAMPLE_FUNCS = ("gt", "gq", "dp", "ab", "ad_ref", "ad_alt", "ps", "phased", "gt_raw")
SAMPLE_FUNC_ALIASES = {"vaf": "ab", "alt_reads": "ad_alt", "ref_reads": "ad_ref", "genotype": "gt"}
KEYWORDS = {"and", "or", "not", "in", "is", "missing", "between", "has", "panel", "bed", "case_panels"}
CMP_OPS = ("=", "!=", "<", "<=", ">", ">=")
MAX_DEPTH = 100


def parse(text: str, source: str = "filter") -> n.Node | None:
    """Parse a filter; an empty filter (only spaces or comments) gives None.

    Raises
    ------
    FilterError
        With the position of the problem, what was expected there and, for a
        misspelt keyword or function, a suggestion.
    """
    return _Parser(text, source).parse()


class _Parser:
    def __init__(self, text: str, source: str):
        self.text = text
        self.source = source
        self.toks: list[Token] = tokenize(text, source)
        self.i = 0
        self.depth = 0

    # -- helpers --------------------------------------------------------------------------

    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def peek(self, k: int = 1) -> Token:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def advance(self) -> Token:
        t = self.toks[self.i]
        if self.i < len(self.toks) - 1:
            self.i += 1
        return t

    def is_kw(self, word: str, tok: Token | None = None) -> bool:
        t = tok or self.tok
        return t.kind == "WORD" and t.text.lower() == word

    def error(self, problem: str, expected: str | None = None, tok: Token | None = None,
              suggestions: list[str] | None = None) -> FilterError:
        t = tok or self.tok
        found = t.describe()
        if expected:
            problem = f"{problem}: expected {expected}, found {found}"
        return FilterError(problem, text=self.text, position=t.pos, expected=expected, found=found,
                           suggestions=suggestions, source=self.source)

    def expect(self, kind: str, expected: str, after: str) -> Token:
        if self.tok.kind != kind:
            raise self.error(f"after {after}", expected)
        return self.advance()

    # -- grammar --------------------------------------------------------------------------

    def parse(self) -> n.Node | None:
        if self.tok.kind == "END":
            return None
        node = self.expr()
        if self.tok.kind != "END":
            t = self.tok
            if t.kind == ")":
                raise self.error("this ')' closes nothing", "and, or, or the end of the filter")
            if t.kind == "WORD" and t.text.lower() not in KEYWORDS:
                hint = suggest(t.text, ["and", "or"])
                raise self.error("two conditions must be joined", "and or or", suggestions=hint)
            raise self.error("the filter continues unexpectedly", "and, or, or the end of the filter")
        return node

    def expr(self) -> n.Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"the filter nests deeper than {MAX_DEPTH} levels")
        start = self.tok.pos
        items = [self.and_expr()]
        while self.is_kw("or"):
            self.advance()
            items.append(self.and_expr())
        self.depth -= 1
        return items[0] if len(items) == 1 else n.Or(tuple(items), start)

    def and_expr(self) -> n.Node:
        start = self.tok.pos
        items = [self.not_expr()]
        while self.is_kw("and"):
            self.advance()
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else n.And(tuple(items), start)

    def not_expr(self) -> n.Node:
        if self.is_kw("not"):
            t = self.advance()
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.error(f"the filter nests deeper than {MAX_DEPTH} levels")
            item = self.not_expr()
            self.depth -= 1
            return n.Not(item, t.pos)
        return self.primary()

    def primary(self) -> n.Node:
        t = self.tok
        if t.kind == "(":
            self.advance()
            if self.tok.kind == ")":
                raise self.error("empty parentheses", "a condition")
            node = self.expr()
            if self.tok.kind != ")":
                raise self.error(f"the '(' at column {t.pos + 1} is not closed", "')'")
            self.advance()
            return node
        if t.kind == "END":
            raise self.error("the filter ends too early", "a condition")
        if t.kind == "WORD":
            low = t.text.lower()
            if low in INHERITANCE_MODES:
                return self.inheritance()
            if low == "in":
                return self.location(t)
            if low in ("and", "or"):
                raise self.error(f"'{t.text}' needs a condition on its left", "a condition")
            if low in KEYWORDS - {"panel", "bed", "missing", "case_panels"}:
                raise self.error(f"'{t.text}' cannot start a condition", "a field, an inheritance term or '('")
        if t.kind in ("WORD", "STRING", "NUMBER"):
            operand = self.operand()
            return self.test(operand)
        if t.kind == "REGION":
            raise self.error("a region needs 'in' before it", f"in {t.text}")
        if t.kind == "OP":
            raise self.error(f"'{t.text}' needs a field on its left", "a field")
        raise self.error("a condition cannot start here", "a field, an inheritance term, 'in', 'not' or '('")

    # -- pieces ---------------------------------------------------------------------------

    def inheritance(self) -> n.Node:
        t = self.advance()
        mode = t.text.lower()
        sample = None
        options: list[tuple[str, n.Value, int]] = []
        if self.tok.kind == "(":
            self.advance()
            while True:
                a = self.tok
                if a.kind == "WORD" and self.peek().kind == "OP" and self.peek().value == "=":
                    self.advance()
                    self.advance()
                    v = self.tok
                    if v.kind != "NUMBER":
                        raise self.error(f"after '{a.text} ='", "a number")
                    self.advance()
                    options.append((a.text, n.Value("number", v.value, v.text, v.pos), a.pos))
                elif a.kind in ("WORD", "STRING", "NUMBER"):
                    if sample is not None:
                        raise self.error(f"{mode} takes one sample", "',' and an option such as min_gq=20, or ')'",
                                         tok=a)
                    self.advance()
                    sample = n.SampleRef(str(a.value) if a.kind != "NUMBER" else a.text, a.pos, a.kind == "STRING")
                else:
                    raise self.error(f"inside {mode}(...)", "a sample (id, proband, mother, father) or an option "
                                     "such as min_gq=20")
                if self.tok.kind == ",":
                    self.advance()
                    continue
                if self.tok.kind == ")":
                    self.advance()
                    break
                raise self.error(f"inside {mode}(...)", "',' or ')'")
        return n.Inheritance(mode, sample, tuple(options), t.pos)

    def location(self, t_in: Token) -> n.Node:
        self.advance()  # 'in'
        t = self.tok
        if self.is_kw("bed"):
            self.advance()
            p = self.tok
            if p.kind != "STRING":
                raise self.error("after 'in bed'", "the BED file path in quotes, e.g. in bed \"targets.bed\"")
            self.advance()
            return n.InBed(str(p.value), t_in.pos, p.pos)
        if self.is_kw("panel"):
            self.advance()
            p = self.tok
            if p.kind not in ("STRING", "WORD"):
                raise self.error("after 'in panel'", "the panel name in quotes, e.g. in panel \"cardio\"")
            self.advance()
            return n.InRegionPanel(str(p.value), t_in.pos, p.pos)
        regions = []
        paren = False
        if t.kind == "(" and self.peek().kind == "REGION":
            paren = True
            self.advance()
        while True:
            r = self.tok
            if r.kind != "REGION":
                raise self.error("after 'in'", "a region such as 20:10000000-10100000, bed \"file.bed\" or "
                                 "panel \"name\"")
            chrom, start, end = r.value
            if end is not None and end < start:
                raise self.error("the region ends before it starts", "START-END with START <= END", tok=r)
            if start < 1:
                raise self.error("region positions start at 1", "a 1-based position", tok=r)
            regions.append((chrom, start, end, r.pos))
            self.advance()
            if self.tok.kind == "," and self.peek().kind == "REGION":
                self.advance()
                continue
            break
        if paren:
            if self.tok.kind != ")":
                raise self.error("in the list of regions", "',' and a region, or ')'")
            self.advance()
        return n.InRegions(tuple(regions), t_in.pos)

    def sample_ref(self, func: str) -> n.SampleRef:
        s = self.tok
        if s.kind not in ("WORD", "STRING", "NUMBER"):
            raise self.error(f"inside {func}(...)", "a sample id or one of proband, mother, father, any, all")
        self.advance()
        name = s.text if s.kind == "NUMBER" else str(s.value)
        return n.SampleRef(name, s.pos, s.kind == "STRING")

    def operand(self) -> n.Operand:
        t = self.advance()
        if t.kind == "WORD" and self.tok.kind == "(":
            func = t.text.lower()
            func = SAMPLE_FUNC_ALIASES.get(func, func)
            if func not in SAMPLE_FUNCS:
                hint = suggest(t.text, list(SAMPLE_FUNCS) + list(INHERITANCE_MODES))
                raise self.error(f"'{t.text}' is not a per-sample field or an inheritance term", tok=t,
                                 suggestions=hint)
            self.advance()
            sample = self.sample_ref(func)
            if self.tok.kind != ")":
                raise self.error(f"after {func}({sample.name}", "')'")
            self.advance()
            return n.SampleFieldRef(func, sample, t.pos)
        if t.kind == "STRING":
            # a quoted field name, for INFO keys that are not plain words
            return n.FieldRef(str(t.value), t.pos)
        if t.kind == "NUMBER":
            raise self.error("a condition starts with a field, not a number", "a field such as gnomad_af", tok=t)
        return n.FieldRef(t.text, t.pos)

    def value(self, after: str) -> n.Value:
        t = self.tok
        if t.kind == "NUMBER":
            self.advance()
            return n.Value("number", t.value, t.text, t.pos)
        if t.kind == "STRING":
            self.advance()
            return n.Value("string", t.value, t.text, t.pos)
        if t.kind == "WORD":
            low = t.text.lower()
            if low in ("and", "or") or low in KEYWORDS - {"missing", "panel", "bed"}:
                raise self.error(f"after {after}", "a value (a number, a word or \"quoted text\")")
            self.advance()
            return n.Value("word", t.text, t.text, t.pos)
        if t.kind == "REGION":
            self.advance()
            return n.Value("word", t.text, t.text, t.pos)
        raise self.error(f"after {after}", "a value (a number, a word or \"quoted text\")")

    def value_list(self, after: str) -> tuple:
        if self.tok.kind != "(":
            raise self.error(f"after {after}", "'(' and a list of values, e.g. (HIGH, MODERATE)")
        open_tok = self.advance()
        if self.tok.kind == ")":
            raise self.error("the list is empty", "at least one value")
        values = [self.value(after)]
        while self.tok.kind == ",":
            self.advance()
            values.append(self.value(f"',' in the list opened at column {open_tok.pos + 1}"))
        if self.tok.kind != ")":
            raise self.error(f"the list opened at column {open_tok.pos + 1} is not closed", "',' or ')'")
        self.advance()
        return tuple(values)

    def test(self, operand: n.Operand) -> n.Node:
        t = self.tok
        name = operand.name if isinstance(operand, n.FieldRef) else f"{operand.func}({operand.sample.name})"
        pos = operand.pos
        negate = False
        if self.is_kw("not") and self.peek().kind == "WORD" and self.peek().text.lower() in ("in", "has", "between"):
            negate = True
            self.advance()
            t = self.tok
        node: n.Node
        if t.kind == "OP":
            op = t.value
            self.advance()
            if op in ("~", "!~"):
                pat = self.value(f"'{name} {t.text}'")
                node = n.Match(operand, pat, pos)
                return n.Not(node, pos) if op == "!~" else node
            v = self.value(f"'{name} {t.text}'")
            return n.Compare(operand, op, v, pos)
        if self.is_kw("in"):
            self.advance()
            if self.is_kw("panel"):
                self.advance()
                p = self.tok
                if p.kind not in ("STRING", "WORD"):
                    raise self.error(f"after '{name} in panel'", "the panel name in quotes")
                self.advance()
                if not isinstance(operand, n.FieldRef):
                    raise self.error("only gene fields can be in a panel", tok=p)
                node = n.InPanel(operand, str(p.value), pos, p.pos)
            elif self.is_kw("case_panels"):
                p = self.advance()
                if not isinstance(operand, n.FieldRef):
                    raise self.error("only gene fields can be in a panel", tok=p)
                node = n.InPanel(operand, None, pos, p.pos)
            else:
                node = n.InList(operand, self.value_list(f"'{name} in'"), pos)
        elif self.is_kw("has"):
            self.advance()
            if self.tok.kind == "(":
                vals = self.value_list(f"'{name} has'")
            else:
                vals = (self.value(f"'{name} has'"),)
            node = n.Has(operand, vals, pos)
        elif self.is_kw("between"):
            self.advance()
            lo = self.value(f"'{name} between'")
            if not self.is_kw("and"):
                raise self.error(f"after '{name} between {lo.text}'", "'and' and the upper bound")
            self.advance()
            hi = self.value(f"'{name} between {lo.text} and'")
            node = n.Between(operand, lo, hi, pos)
        elif self.is_kw("is"):
            if negate:
                raise self.error("'not is' is not a test", "'is not missing'")
            self.advance()
            neg = False
            if self.is_kw("not"):
                self.advance()
                neg = True
            if not self.is_kw("missing"):
                hint = suggest(self.tok.text, ["missing"]) if self.tok.kind == "WORD" else None
                raise self.error(f"after '{name} is{' not' if neg else ''}'", "'missing'", suggestions=hint)
            self.advance()
            node = n.IsMissing(operand, pos)
            return n.Not(node, pos) if neg else node
        else:
            if negate:
                raise self.error(f"after '{name} not'", "in, has or between")
            if t.kind == "WORD" and t.text.lower() not in KEYWORDS:
                hint = suggest(t.text, ["in", "has", "between", "is", "and", "or"])
                raise self.error(f"after the field '{name}'", "an operator (=, !=, <, <=, >, >=, ~, in, has, "
                                 "between, is missing), and or or", suggestions=hint)
            if t.kind in ("NUMBER", "STRING", "REGION"):
                raise self.error(f"after the field '{name}'", "an operator such as = before the value")
            # a bare field: a yes/no condition (the compiler checks the type)
            return n.Truthy(operand, pos)
        return n.Not(node, pos) if negate else node
