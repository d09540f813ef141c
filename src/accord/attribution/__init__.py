"""Attribution workbench: hypotheses, graded evidence, confidence, ACH, TTP-based candidates, precedents."""
