"""Lesson 07's decision tree (7.1) and use-case table (7.2), in one place: the lesson's cells import
them, its clickable tree (labkit/widgets/decision_tree.py) walks them, and the tests hold them to
the lesson's picture (src/diagrams/choosing_decision_tree.yaml) and table.

The tree is two yes/no questions: serverless containers? then Kubernetes (features, on the
serverless branch)? Lab 07 has students write it again as `choose()`, and its checks keep their
own copy of the answers (labkit/checks/lab07.py), keyed by the same use-case names as USE_CASES.
"""
from __future__ import annotations


def recommend(serverless: bool, kubernetes: bool) -> str:
    """The answer of the decision tree (7.1) for two answers: serverless? Kubernetes?"""
    if serverless:
        if kubernetes:
            return "Fargate on EKS"
        return "Cloud Run (GCP) / Fargate on ECS (AWS)"
    if kubernetes:
        return "GKE (Autopilot/Standard) / EKS"
    return "ECS on EC2 / Compute Engine + Docker"


# Table 7.2: use case -> (AWS, GCP)
USE_CASES = {
    "simple web app": ("ECS Express Mode (App Runner until 30 April 2026)", "Cloud Run"),
    "microservices": ("ECS Fargate + Service Connect", "Cloud Run"),
    "k8s simplified": ("EKS Auto Mode", "GKE Autopilot"),
    "k8s full control": ("EKS Standard", "GKE Standard"),
    "ml/gpu workloads": ("EKS + GPU", "GKE Autopilot + GPU"),
    "batch jobs": ("ECS Task", "Cloud Run Jobs"),
    "event processing": ("Fargate + EventBridge", "Cloud Run + Eventarc"),
    "cost-sensitive batch": ("Fargate Spot", "Autopilot Spot Pods"),
    "server control, no k8s": ("ECS on EC2", "Compute Engine + Docker"),
    "multi-cloud": ("EKS", "GKE"),
}


def pick(word: str = "") -> None:
    """Print the rows of table 7.2 whose use case contains `word` (all of them if none does)."""
    rows = [name for name in USE_CASES if word.lower() in name] or list(USE_CASES)
    for name in rows:
        aws, gcp = USE_CASES[name]
        print(f"{name:<22}  AWS: {aws:<50}  GCP: {gcp}")


# -- the tree as data, for walking it one question at a time ---------------------------------------
FIRST = "serverless"
# The second question depends on the first answer: the serverless branch asks about Kubernetes
# *features* (Fargate on EKS or not), the other about Kubernetes itself (GKE/EKS or not).
SECOND = {True: "kubernetes_features", False: "kubernetes"}
# Each leaf (serverless, kubernetes): its name (message keys) and its row of table 7.2
LEAVES = {
    (True, True): ("serverless_kubernetes", "k8s simplified"),
    (True, False): ("serverless", "simple web app"),
    (False, True): ("kubernetes", "k8s full control"),
    (False, False): ("servers", "server control, no k8s"),
}
PATHS = tuple(LEAVES)  # every path through the tree, in the lesson's order


def next_question(answers: tuple[bool, ...]) -> str | None:
    """The question to ask after `answers` (None: the tree has answered)."""
    if not answers:
        return FIRST
    if len(answers) == 1:
        return SECOND[answers[0]]
    return None


def questions(path: tuple[bool, bool]) -> tuple[str, str]:
    """The two questions a path answers."""
    return FIRST, SECOND[path[0]]


def leaf(serverless: bool, kubernetes: bool) -> str:
    return LEAVES[(serverless, kubernetes)][0]


def row(serverless: bool, kubernetes: bool) -> str:
    """The use case of table 7.2 that a leaf of the tree comes to."""
    return LEAVES[(serverless, kubernetes)][1]


def service(name: str) -> str:
    """A cell of USE_CASES without its note in parentheses: "ECS Express Mode (App Runner ...)" -> "ECS Express Mode"."""
    return name.split(" (")[0]
