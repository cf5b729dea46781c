"""The exercises' reference answers, frozen from the executed book by

    python -m causalrec_tutorial.exercises --freeze

Do not edit by hand: tests/test_exercises.py checks that these equal the chapters' stored outputs.
"""

REFERENCES = {
    'ex-ablate-exam': 0.033880770722875986,
    'ex-ablate-seeds': 0.01898885572328964,
    'ex-bg-randomise': 0.0379584,
    'ex-case-blend': 0.03529547090047788,
    'ex-case-mde': 1003954,
    'ex-case-seed': 0.039051388278758176,
    'ex-causal-clip': 0.010125259698912006,
    'ex-causal-collider-shop': -0.001003582233713829,
    'ex-causal-components': 0.8746170760679379,
    'ex-data-confounding': 1.1612432312524839,
    'ex-data-ipw': 0.001406057953348034,
    'ex-data-position': 0.20678952789744548,
    'ex-data-tail': 0.48982,
    'ex-eval-aa': 0,
    'ex-eval-clip': 0.36575,
    'ex-eval-same-logs': 1.0253360357252692,
    'ex-gen-blend': 0.04001153255994664,
    'ex-gen-checker-pays': 0.12571881133541427,
    'ex-gen-first-position': -0.25,
    'ex-gen-small-world': 'naive',
    'ex-int-length': 0.7180518938252299,
    'ex-lm-length': -0.3956319808959961,
    'ex-lm-negation': 'higher',
}
