//===- SimplifyPatterns.td - DRR rewrites of derivative graphs -*- tablegen -*-===//

#ifndef D2L_SIMPLIFY_PATTERNS_TD
#define D2L_SIMPLIFY_PATTERNS_TD

include "mlir/IR/PatternBase.td"
include "d2l/Dialect/D2L/IR/D2LOps.td"

// x - (-y) = x + y
def SubOfNeg : Pat<(D2L_SubOp $x, (D2L_NegOp $y)), (D2L_AddOp $x, $y)>;
// x + (-y) = x - y, (-y) + x = x - y
def AddOfNegRhs : Pat<(D2L_AddOp $x, (D2L_NegOp $y)), (D2L_SubOp $x, $y)>;
def AddOfNegLhs : Pat<(D2L_AddOp (D2L_NegOp $y), $x), (D2L_SubOp $x, $y)>;
// -(a - b) = b - a
def NegOfSub : Pat<(D2L_NegOp (D2L_SubOp $a, $b)), (D2L_SubOp $b, $a)>;
// A ReLU gradient masked twice by the same saved output is masked once.
def ReluBackwardTwice : Pat<
  (D2L_ReluBackwardOp (D2L_ReluBackwardOp $g, $y), $y),
  (D2L_ReluBackwardOp $g, $y)>;
// relu(relu(x)) = relu(x), so its mask is the same.
def ReluOfRelu : Pat<(D2L_ReluOp (D2L_ReluOp:$r $x)), (replaceWithValue $r)>;

#endif // D2L_SIMPLIFY_PATTERNS_TD
