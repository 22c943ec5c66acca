// AQL 1.1 lexer, written for cdr from the text of openEHR specifications-QUERY Release-1.1.0 (docs/AQL/*.adoc).
// Keywords are case-insensitive (section "Reserved words and characters"). Regenerate the Python lexer with
// `python aql/grammar/regenerate.py`; the output in aql/_generated is committed and never edited by hand.
lexer grammar AqlLexer;

options { caseInsensitive = true; }

// ---- layout: whitespace and `--` line comments (the spec's overview example annotates clauses with them)
WS           : [ \t\r\n\f]+ -> channel(HIDDEN) ;
LINE_COMMENT : '--' ~[\r\n]* -> channel(HIDDEN) ;

// ---- clauses and modifiers
SELECT     : 'select' ;
AS         : 'as' ;
FROM       : 'from' ;
WHERE      : 'where' ;
ORDER      : 'order' ;
BY         : 'by' ;
ASC        : 'asc' ;
ASCENDING  : 'ascending' ;
DESC       : 'desc' ;
DESCENDING : 'descending' ;
LIMIT      : 'limit' ;
OFFSET     : 'offset' ;
DISTINCT   : 'distinct' ;
TOP        : 'top' ;        // deprecated in 1.1 in favour of LIMIT, still part of the language
FORWARD    : 'forward' ;
BACKWARD   : 'backward' ;

// ---- operators
CONTAINS : 'contains' ;     // containment in FROM, and the string function CONTAINS(...)
AND      : 'and' ;
OR       : 'or' ;
NOT      : 'not' ;
LIKE     : 'like' ;
MATCHES  : 'matches' ;
EXISTS   : 'exists' ;
BETWEEN  : 'between' ;  // EHRbase's extension: x BETWEEN a AND b is x >= a AND x <= b

// ---- literals
TRUE  : 'true' ;
FALSE : 'false' ;
NULL  : 'null' ;

// ---- versions (FROM VERSION v[LATEST_VERSION])
VERSION        : 'version' ;
LATEST_VERSION : 'latest_version' ;
ALL_VERSIONS   : 'all_versions' ;

// ---- functions with a syntax of their own; single-row functions are plain identifiers
TERMINOLOGY : 'terminology' ;
COUNT       : 'count' ;
MIN         : 'min' ;
MAX         : 'max' ;
SUM         : 'sum' ;
AVG         : 'avg' ;

// ---- codes and identifiers (longest match decides between them and IDENTIFIER)
// at-codes and ADL 2 id-codes, including specialised ones: at0002.1, at0000.1.2, id5
NODE_ID : ('at' | 'id') DIGIT+ ('.' DIGIT+)* ;
// archetype HRID: publisher-package-class.concept.vN[.N.N], e.g. openEHR-EHR-OBSERVATION.blood_pressure.v1
ARCHETYPE_HRID : ID_CHAR+ '-' ID_CHAR+ '-' ID_CHAR+ '.' ID_CHAR+ ('-' ID_CHAR+)* '.v' DIGIT+ ('.' DIGIT+)* ;
// coded-name shortcut of node predicates: terminology_id[(version)]::code_string[|value|]
TERM_CODE : LETTER ID_CHAR* ('(' [a-z0-9._-]+ ')')? '::' [a-z0-9._-]+ ('|' ~[|\r\n]* '|')? ;
// terminology URI inside `matches { ... }`, e.g. terminology://snomed-ct/hierarchy?rootConceptId=50043002
URI : LETTER [a-z0-9+.-]* '://' ~[ \t\r\n{},]+ ;
IDENTIFIER : LETTER ID_CHAR* ;
PARAMETER  : '$' (LETTER | '_') ID_CHAR* ;

// ---- numbers and strings (strings in single or double quotes, backslash escapes, no line breaks)
INTEGER : DIGIT+ ;
REAL    : DIGIT+ '.' DIGIT+ EXPONENT? | DIGIT+ EXPONENT ;
STRING  : '\'' (ESCAPE | ~['\\\r\n])* '\'' | '"' (ESCAPE | ~["\\\r\n])* '"' ;
// a string the line ends in; one char shorter than a closed STRING, so only wins when the quote is missing
UNTERMINATED_STRING : '\'' (ESCAPE | ~['\\\r\n])* | '"' (ESCAPE | ~["\\\r\n])* ;

// ---- symbols
SLASH    : '/' ;
COMMA    : ',' ;
LPAREN   : '(' ;
RPAREN   : ')' ;
LBRACKET : '[' ;
RBRACKET : ']' ;
LBRACE   : '{' ;
RBRACE   : '}' ;
STAR     : '*' ;
MINUS    : '-' ;
EQ       : '=' ;
NE       : '!=' | '<>' ;
GT       : '>' ;
GE       : '>=' ;
LT       : '<' ;
LE       : '<=' ;

// anything else becomes one token the parser rejects, so that the error names the character
UNEXPECTED_CHAR : . ;

fragment LETTER   : [a-z] ;
fragment DIGIT    : [0-9] ;
fragment ID_CHAR  : [a-z0-9_] ;
fragment EXPONENT : 'e' [+-]? DIGIT+ ;
fragment ESCAPE   : '\\' . ;
