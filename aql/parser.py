"""AQL text to the typed AST: run the ANTLR parser, collect every syntax error, build :mod:`aql.ast` nodes.

Parsing is two-stage, as ANTLR recommends for speed: the fast SLL prediction mode with a bail-out strategy
first, and only when that fails the full LL mode with error recovery, which reports every error it meets. The
grammar is in ``aql/grammar``; the generated code in ``aql/_generated`` is never edited by hand.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from antlr4 import CommonTokenStream, InputStream, Token
from antlr4.atn.PredictionMode import PredictionMode
from antlr4.error.ErrorListener import ErrorListener
from antlr4.error.Errors import ParseCancellationException
from antlr4.error.ErrorStrategy import BailErrorStrategy, DefaultErrorStrategy

from aql import ast
from aql._generated.AqlLexer import AqlLexer
from aql._generated.AqlParser import AqlParser
from aql.errors import AqlSemanticError, AqlSyntaxError, AqlUnsupported, SyntaxIssue
from aql.literals import string_type, unquote
from aql.semantics import check_query, resolve_order_aliases

P = AqlParser

# Single-row functions of AQL 1.1 ("Functions") with their (minimum, maximum) argument counts; None is "any".
FUNCTION_ARITY: dict[str, tuple[int, int | None]] = {
    "LENGTH": (1, 1),
    "CONTAINS": (2, 2),
    "POSITION": (2, 2),
    "SUBSTRING": (2, 3),
    "CONCAT": (1, None),
    "CONCAT_WS": (2, None),
    "ABS": (1, 1),
    "MOD": (2, 2),
    "CEIL": (1, 1),
    "FLOOR": (1, 1),
    "ROUND": (1, 2),
    "CURRENT_DATE": (0, 0),
    "CURRENT_TIME": (0, 0),
    "CURRENT_DATE_TIME": (0, 0),
    "NOW": (0, 0),
    "CURRENT_TIMEZONE": (0, 0),
}

_OPERATORS = {
    "=": ast.ComparisonOperator.EQ,
    "!=": ast.ComparisonOperator.NE,
    "<>": ast.ComparisonOperator.NE,
    ">": ast.ComparisonOperator.GT,
    ">=": ast.ComparisonOperator.GE,
    "<": ast.ComparisonOperator.LT,
    "<=": ast.ComparisonOperator.LE,
}


# ANTLR names keyword tokens by their lower-case literal ('select') in messages; users write and read SELECT.
_KEYWORD_LITERAL = re.compile(
    "|".join(re.escape(n) for n in AqlLexer.literalNames if re.fullmatch(r"'[a-z_]+'", n))
)


class _CollectingListener(ErrorListener):
    """Turns every lexer and parser error into a :class:`SyntaxIssue` instead of printing it."""

    def __init__(self) -> None:
        self.issues: list[SyntaxIssue] = []

    def syntaxError(  # the ANTLR callback's name and signature
        self, recognizer: Any, offendingSymbol: Any, line: int, column: int, msg: str, e: Any
    ) -> None:
        if isinstance(offendingSymbol, Token):
            text = "<EOF>" if offendingSymbol.type == Token.EOF else (offendingSymbol.text or "")
            if offendingSymbol.type == AqlLexer.UNTERMINATED_STRING:
                msg = f"unterminated string {text}"
        else:  # lexer errors have no token; the message quotes the text
            text = msg.rsplit(":", 1)[-1].strip().strip("'")
        msg = _KEYWORD_LITERAL.sub(lambda m: m.group(0).upper(), msg)
        self.issues.append(SyntaxIssue(line=line, column=column + 1, offending=text, message=msg))


def parse_uncached(text: str) -> ast.Query:
    """Parse ``text`` into a :class:`aql.ast.Query`, raising :class:`AqlSyntaxError` with every error found.

    Semantic checks that need no database run too (:func:`aql.semantics.check_query`). Prefer
    :func:`aql.parse`, which caches.
    """
    tree = _parse_tree(text)
    query = resolve_order_aliases(_Builder().query(tree))
    check_query(query)
    return query


def _parse_tree(text: str) -> P.QueryContext:
    lexer = AqlLexer(InputStream(text))
    lexer.removeErrorListeners()
    lexer_errors = _CollectingListener()
    lexer.addErrorListener(lexer_errors)
    tokens = CommonTokenStream(lexer)
    parser = AqlParser(tokens)
    parser.removeErrorListeners()
    parser._interp.predictionMode = PredictionMode.SLL
    parser._errHandler = BailErrorStrategy()
    try:
        tree = parser.query()
        if not lexer_errors.issues:
            return tree
    except ParseCancellationException:
        pass
    # second stage: full LL with recovery, collecting every error
    tokens.seek(0)
    parser.reset()
    parser_errors = _CollectingListener()
    parser.addErrorListener(parser_errors)
    parser._interp.predictionMode = PredictionMode.LL
    parser._errHandler = DefaultErrorStrategy()
    tree = parser.query()
    issues = [*lexer_errors.issues, *parser_errors.issues]
    if issues:
        issues.sort(key=lambda i: (i.line, i.column))
        raise AqlSyntaxError(issues)
    return tree


def _position(ctx: Any) -> tuple[int, int]:
    token = ctx.start if hasattr(ctx, "start") else ctx.symbol
    return token.line, token.column + 1


class _Builder:
    """Walks a syntactically valid parse tree and builds the AST (no error recovery left to do here)."""

    def query(self, ctx: P.QueryContext) -> ast.Query:
        limit = offset = None
        if (lc := ctx.limitClause()) is not None:
            limit = int(lc.limit.text)
            offset = int(lc.offset.text) if lc.offset is not None else None
        order = ctx.orderByClause()
        return ast.Query(
            select=self.select(ctx.selectClause()),
            from_=self.contains(ctx.fromClause().containsExpr()),
            where=self.where(ctx.whereClause().whereExpr()) if ctx.whereClause() else None,
            order_by=tuple(self.order_by(i) for i in order.orderByItem()) if order else (),
            limit=limit,
            offset=offset,
        )

    # ---- SELECT

    def select(self, ctx: P.SelectClauseContext) -> ast.SelectClause:
        top = None
        if (t := ctx.top()) is not None:
            top = ast.Top(int(t.INTEGER().getText()), t.direction.text.upper() if t.direction else None)
        items = tuple(
            ast.SelectItem(self.column(i.columnExpr()), i.alias.getText() if i.alias else None)
            for i in ctx.selectItem()
        )
        return ast.SelectClause(items=items, distinct=ctx.DISTINCT() is not None, top=top)

    def column(self, ctx: P.ColumnExprContext) -> ast.Expression:
        if ctx.aggregateCall() is not None:
            return self.aggregate(ctx.aggregateCall())
        if ctx.functionCall() is not None:
            return self.function(ctx.functionCall())
        if ctx.identifiedPath() is not None:
            return self.identified_path(ctx.identifiedPath())
        return self.literal(ctx.literal())

    def aggregate(self, ctx: Any) -> ast.Aggregate:
        if isinstance(ctx, P.CountCallContext):
            path = ctx.identifiedPath()
            return ast.Aggregate(
                "COUNT", self.identified_path(path) if path else None, distinct=ctx.DISTINCT() is not None
            )
        return ast.Aggregate(ctx.name.text.upper(), self.identified_path(ctx.identifiedPath()))

    # ---- functions

    def function(self, ctx: Any) -> ast.FunctionCall | ast.Terminology:
        if isinstance(ctx, P.TerminologyContext):
            return self.terminology(ctx.terminologyCall())
        name = ctx.name.text.upper()
        args = tuple(self.function_arg(a) for a in ctx.functionArg())
        if name not in FUNCTION_ARITY:
            raise AqlUnsupported(f"function {ctx.name.text}")
        low, high = FUNCTION_ARITY[name]
        if len(args) < low or (high is not None and len(args) > high):
            expected = str(low) if low == high else f"{low} or more" if high is None else f"{low} to {high}"
            raise AqlSemanticError(f"{name} takes {expected} argument(s), got {len(args)}", *_position(ctx))
        return ast.FunctionCall(name, args)

    def terminology(self, ctx: Any) -> ast.Terminology:
        return ast.Terminology(
            unquote(ctx.operation.text), unquote(ctx.serviceApi.text), unquote(ctx.params.text)
        )

    def function_arg(self, ctx: P.FunctionArgContext) -> ast.Expression:
        if ctx.functionCall() is not None:
            return self.function(ctx.functionCall())
        return self.operand(ctx)

    def operand(self, ctx: Any) -> ast.Expression:
        """An operand or function argument: function call, identified path, literal or parameter."""
        if ctx.functionCall() is not None:
            return self.function(ctx.functionCall())
        if ctx.identifiedPath() is not None:
            return self.identified_path(ctx.identifiedPath())
        if ctx.literal() is not None:
            return self.literal(ctx.literal())
        return ast.Parameter(ctx.PARAMETER().getText()[1:])

    # ---- FROM

    def contains(self, ctx: Any) -> ast.FromExpression:
        if isinstance(ctx, P.ContainmentContext):
            outer = self.class_expr(ctx.classExpr())
            if ctx.CONTAINS() is None:
                return outer
            return ast.Contains(outer, self.contains(ctx.containsExpr()), negated=ctx.NOT() is not None)
        if isinstance(ctx, P.ContainsParensContext):
            return self.contains(ctx.containsExpr())
        kind = ast.ContainsAnd if isinstance(ctx, P.ContainsAndContext) else ast.ContainsOr
        operands: list[ast.FromExpression] = []
        for child in ctx.containsExpr():
            built = self.contains(child)
            operands.extend(built.operands if isinstance(built, kind) else (built,))
        return kind(tuple(operands))

    def class_expr(self, ctx: Any) -> ast.ClassExpression:
        variable = ctx.variable.getText() if ctx.variable is not None else None
        if isinstance(ctx, P.VersionClassExprContext):
            vp = ctx.versionPredicate()
            predicate: ast.Predicate | None = None
            if vp is not None:
                if vp.LATEST_VERSION() is not None:
                    predicate = ast.VersionPredicate(ast.VersionSelector.LATEST_VERSION)
                elif vp.ALL_VERSIONS() is not None:
                    predicate = ast.VersionPredicate(ast.VersionSelector.ALL_VERSIONS)
                else:
                    predicate = self.predicate_body(vp.predicateBody())
            return ast.ClassExpression("VERSION", variable, predicate)
        pred = ctx.predicate()
        return ast.ClassExpression(
            ctx.rmType.text.upper(), variable, self.predicate_body(pred.predicateBody()) if pred else None
        )

    # ---- predicates and paths

    def predicate_body(self, ctx: P.PredicateBodyContext) -> ast.Predicate:
        conditions = tuple(self.condition(c) for c in ctx.predicateCondition())
        if ctx.nodeId is None:
            return ast.NodePredicate(conditions=conditions)
        token = ctx.nodeId.start
        node_id: str | ast.Parameter = (
            ast.Parameter(token.text[1:]) if token.type == AqlLexer.PARAMETER else token.text
        )
        name = self.name_shortcut(ctx.nameShortcut()) if ctx.nameShortcut() is not None else None
        if name is None and not conditions and token.type != AqlLexer.NODE_ID:
            return ast.ArchetypePredicate(node_id)
        return ast.NodePredicate(node_id=node_id, name=name, conditions=conditions)

    def name_shortcut(self, ctx: P.NameShortcutContext) -> ast.Literal | ast.Parameter | ast.TermCode:
        token = ctx.start
        if token.type == AqlLexer.STRING:
            return ast.Literal(unquote(token.text), ast.AqlType.STRING)
        if token.type == AqlLexer.PARAMETER:
            return ast.Parameter(token.text[1:])
        if token.type == AqlLexer.NODE_ID:
            return ast.TermCode("local", token.text)
        head, _, rest = token.text.partition("::")
        code, _, value = rest.partition("|")
        return ast.TermCode(head, code, value[:-1] if value else None)

    def condition(self, ctx: P.PredicateConditionContext) -> ast.PredicateCondition:
        value_ctx = ctx.predicateValue()
        value: ast.Literal | ast.Parameter | tuple[ast.PathStep, ...]
        if value_ctx.literal() is not None:
            value = self.literal(value_ctx.literal())
        elif value_ctx.objectPath() is not None:
            value = self.object_path(value_ctx.objectPath())
        elif value_ctx.PARAMETER() is not None:
            value = ast.Parameter(value_ctx.getText()[1:])
        else:  # a bare at-code or archetype id stands for that string
            value = ast.Literal(value_ctx.getText(), ast.AqlType.STRING)
        return ast.PredicateCondition(
            self.object_path(ctx.objectPath()), _OPERATORS[ctx.comparisonOperator().getText()], value
        )

    def identified_path(self, ctx: Any) -> ast.IdentifiedPath:
        pred = ctx.predicate()
        path = ctx.objectPath()
        return ast.IdentifiedPath(
            variable=ctx.variable.getText(),
            path=self.object_path(path) if path is not None else (),
            predicate=self.predicate_body(pred.predicateBody()) if pred is not None else None,
        )

    def object_path(self, ctx: P.ObjectPathContext) -> tuple[ast.PathStep, ...]:
        steps = []
        for part in ctx.pathPart():
            pred = part.predicate()
            steps.append(
                ast.PathStep(
                    part.attributeName().getText(),
                    self.predicate_body(pred.predicateBody()) if pred is not None else None,
                )
            )
        return tuple(steps)

    # ---- WHERE

    def where(self, ctx: Any) -> ast.Condition:
        if isinstance(ctx, P.WhereParensContext):
            return self.where(ctx.whereExpr())
        if isinstance(ctx, P.WhereNotContext):
            return ast.Not(self.where(ctx.whereExpr()))
        if isinstance(ctx, P.WhereAndContext | P.WhereOrContext):
            kind = ast.And if isinstance(ctx, P.WhereAndContext) else ast.Or
            operands: list[ast.Condition] = []
            for child in ctx.whereExpr():
                built = self.where(child)
                operands.extend(built.operands if isinstance(built, kind) else (built,))
            return kind(tuple(operands))
        if isinstance(ctx, P.ExistsContext):
            return ast.Exists(self.identified_path(ctx.identifiedPath()))
        if isinstance(ctx, P.ComparisonContext):
            left, right = (self.operand(o) for o in ctx.operand())
            return ast.Comparison(left, _OPERATORS[ctx.comparisonOperator().getText()], right)
        if isinstance(ctx, P.BetweenContext):
            # EHRbase's extension (not AQL 1.1): x BETWEEN a AND b holds where x >= a and x <= b
            value, low, high = (self.operand(o) for o in ctx.operand())
            between = ast.And(
                (
                    ast.Comparison(value, ast.ComparisonOperator.GE, low),
                    ast.Comparison(value, ast.ComparisonOperator.LE, high),
                )
            )
            return ast.Not(between) if ctx.NOT() is not None else between
        if isinstance(ctx, P.LikeContext):
            pattern = ctx.likePattern()
            like: ast.Literal | ast.Parameter = (
                ast.Literal(unquote(pattern.getText()), ast.AqlType.STRING)
                if pattern.STRING() is not None
                else ast.Parameter(pattern.getText()[1:])
            )
            return ast.Like(self.operand(ctx.operand()), like)
        if isinstance(ctx, P.MatchesContext):
            return ast.Matches(self.operand(ctx.operand()), self.matches_items(ctx.matchesOperand()))
        function = self.function(ctx.functionCall())
        if isinstance(function, ast.Terminology):
            raise AqlSemanticError("TERMINOLOGY(...) is not a condition on its own", *_position(ctx))
        return function

    def matches_items(
        self, ctx: P.MatchesOperandContext
    ) -> tuple[ast.Literal | ast.Parameter | ast.Terminology | ast.TerminologyUri, ...]:
        if ctx.terminologyCall() is not None:
            return (self.terminology(ctx.terminologyCall()),)
        items: list[ast.Literal | ast.Parameter | ast.Terminology | ast.TerminologyUri] = []
        for item in ctx.matchesItem():
            if item.literal() is not None:
                items.append(self.literal(item.literal()))
            elif item.PARAMETER() is not None:
                items.append(ast.Parameter(item.getText()[1:]))
            elif item.URI() is not None:
                items.append(ast.TerminologyUri(item.getText()))
            else:
                items.append(self.terminology(item.terminologyCall()))
        return tuple(items)

    # ---- ORDER BY and literals

    def order_by(self, ctx: P.OrderByItemContext) -> ast.OrderBy:
        descending = ctx.direction is not None and ctx.direction.text.upper().startswith("DESC")
        return ast.OrderBy(self.identified_path(ctx.identifiedPath()), descending)

    def literal(self, ctx: Any) -> ast.Literal:
        if isinstance(ctx, P.StringLiteralContext):
            value = unquote(ctx.getText())
            return ast.Literal(value, string_type(value))
        if isinstance(ctx, P.IntegerLiteralContext):
            number = int(ctx.getText())
            if not -ast.INT64_LIMIT <= number < ast.INT64_LIMIT:  # no Integer64 holds it: a Real, as in SQL
                return ast.Literal(Decimal(number), ast.AqlType.REAL)
            return ast.Literal(number, ast.AqlType.INTEGER)
        if isinstance(ctx, P.RealLiteralContext):
            return ast.Literal(Decimal(ctx.getText()), ast.AqlType.REAL)
        if isinstance(ctx, P.BooleanLiteralContext):
            return ast.Literal(ctx.TRUE() is not None, ast.AqlType.BOOLEAN)
        return ast.Literal(None, ast.AqlType.NULL)
