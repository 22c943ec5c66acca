// AQL 1.1 parser, written for cdr from the text of openEHR specifications-QUERY Release-1.1.0 (docs/AQL/*.adoc);
// section names in the comments below refer to master03-syntax.adoc. The tree is turned into the typed AST of
// aql/ast.py by aql/parser.py, which also reports every syntax error with its line and column.
parser grammar AqlParser;

options { tokenVocab = AqlLexer; }

// "Query structure": SELECT and FROM are mandatory, then WHERE, ORDER BY and LIMIT, in this order.
query
    : selectClause fromClause whereClause? orderByClause? limitClause? EOF
    ;

// ---- SELECT ("SELECT", "DISTINCT", "TOP", "Name alias")
selectClause
    : SELECT DISTINCT? top? selectItem (COMMA selectItem)*
    ;

top
    : TOP INTEGER direction=(FORWARD | BACKWARD)?
    ;

selectItem
    : columnExpr (AS alias=identifier)?
    ;

// an identified path or a plain variable, a function or aggregate call, or a literal
columnExpr
    : aggregateCall
    | functionCall
    | identifiedPath
    | literal
    ;

// ---- FROM ("FROM", "Containment", "Class expressions")
fromClause
    : FROM containsExpr
    ;

// CONTAINS binds loosest on its right: `A CONTAINS B AND C` is A containing both B and C.
containsExpr
    : classExpr (NOT? CONTAINS containsExpr)?       # containment
    | LPAREN containsExpr RPAREN                    # containsParens
    | containsExpr AND containsExpr                 # containsAnd
    | containsExpr OR containsExpr                  # containsOr
    ;

classExpr
    : VERSION variable=identifier? versionPredicate?   # versionClassExpr
    | rmType=IDENTIFIER variable=identifier? predicate? # rmClassExpr
    ;

versionPredicate
    : LBRACKET (LATEST_VERSION | ALL_VERSIONS | predicateBody) RBRACKET
    ;

// ---- predicates ("Predicates": standard, archetype and node predicates)
predicate
    : LBRACKET predicateBody RBRACKET
    ;

// a node or archetype id (or a parameter standing for one), an optional name shortcut and further criteria;
// or standard criteria only
predicateBody
    : nodeId=predicateNodeId (COMMA nameShortcut)? (AND predicateCondition)*
    | predicateCondition (AND predicateCondition)*
    ;

predicateNodeId
    : NODE_ID
    | ARCHETYPE_HRID
    | PARAMETER
    ;

// `[at0002, 'name']`, `[at0002, $name]`, `[at0002, at0003]`, `[at0002, snomed_ct::313267000|text|]`
nameShortcut
    : STRING
    | PARAMETER
    | NODE_ID
    | TERM_CODE
    ;

predicateCondition
    : objectPath comparisonOperator predicateValue
    ;

predicateValue
    : literal
    | PARAMETER
    | NODE_ID
    | ARCHETYPE_HRID
    | objectPath
    ;

// ---- paths ("openEHR path syntax", "Identified Paths")
identifiedPath
    : variable=identifier predicate? (SLASH objectPath)?
    ;

objectPath
    : pathPart (SLASH pathPart)*
    ;

pathPart
    : attributeName predicate?
    ;

// after a slash nothing but an attribute can follow, so reserved words are fine as attribute names
attributeName
    : identifier
    | keyword
    ;

identifier
    : IDENTIFIER
    ;

keyword
    : SELECT | AS | FROM | WHERE | ORDER | BY | ASC | ASCENDING | DESC | DESCENDING | LIMIT | OFFSET | DISTINCT
    | TOP | FORWARD | BACKWARD | CONTAINS | AND | OR | NOT | LIKE | MATCHES | EXISTS | BETWEEN | TRUE | FALSE | NULL
    | VERSION | LATEST_VERSION | ALL_VERSIONS | TERMINOLOGY | COUNT | MIN | MAX | SUM | AVG
    ;

// ---- WHERE ("WHERE", "Operators", "Identified expression"); NOT binds tighter than AND, AND than OR
whereClause
    : WHERE whereExpr
    ;

whereExpr
    : LPAREN whereExpr RPAREN                       # whereParens
    | NOT whereExpr                                 # whereNot
    | whereExpr AND whereExpr                       # whereAnd
    | whereExpr OR whereExpr                        # whereOr
    | EXISTS identifiedPath                         # exists
    | operand comparisonOperator operand            # comparison
    | operand NOT? BETWEEN operand AND operand      # between
    | operand LIKE likePattern                      # like
    | operand MATCHES matchesOperand                # matches
    | functionCall                                  # booleanFunction
    ;

operand
    : functionCall
    | identifiedPath
    | literal
    | PARAMETER
    ;

comparisonOperator
    : EQ | NE | GT | GE | LT | LE
    ;

likePattern
    : STRING
    | PARAMETER
    ;

// `matches {value, ...}` (values, parameters, terminology URIs, TERMINOLOGY calls) or `matches TERMINOLOGY(...)`
matchesOperand
    : LBRACE matchesItem (COMMA matchesItem)* RBRACE
    | terminologyCall
    ;

matchesItem
    : literal
    | PARAMETER
    | URI
    | terminologyCall
    ;

// ---- functions ("Functions")
aggregateCall
    : COUNT LPAREN (STAR | DISTINCT? identifiedPath) RPAREN       # countCall
    | name=(MIN | MAX | SUM | AVG) LPAREN identifiedPath RPAREN  # aggregate
    ;

functionCall
    : terminologyCall                                                        # terminology
    | name=(IDENTIFIER | CONTAINS) LPAREN (functionArg (COMMA functionArg)*)? RPAREN # singleRowFunction
    ;

// TERMINOLOGY(operation, service_api, params_uri), all three strings
terminologyCall
    : TERMINOLOGY LPAREN operation=STRING COMMA serviceApi=STRING COMMA params=STRING RPAREN
    ;

functionArg
    : functionCall
    | identifiedPath
    | literal
    | PARAMETER
    ;

// ---- ORDER BY and LIMIT
orderByClause
    : ORDER BY orderByItem (COMMA orderByItem)*
    ;

orderByItem
    : identifiedPath direction=(ASC | ASCENDING | DESC | DESCENDING)?
    ;

limitClause
    : LIMIT limit=INTEGER (OFFSET offset=INTEGER)?
    ;

// ---- literals ("Literals", "Built-in Types"); dates and times are strings typed by their ISO 8601 form
literal
    : STRING                # stringLiteral
    | MINUS? INTEGER        # integerLiteral
    | MINUS? REAL           # realLiteral
    | (TRUE | FALSE)        # booleanLiteral
    | NULL                  # nullLiteral
    ;
