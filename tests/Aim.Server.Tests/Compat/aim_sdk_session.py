#!/usr/bin/env python3
"""Drives AIM's unmodified Python SDK against an Aim server (the acceptance session in docs/server.md; not run by CI).

    PYTHONPATH=<agent-identity-management>/sdks/python python3 aim_sdk_session.py register <url> <api-key-file>
    PYTHONPATH=<agent-identity-management>/sdks/python python3 aim_sdk_session.py act <url> <api-key-file>

`register` is AIM's one-line registration; `act` loads the saved credentials and runs an allowed action, a denied one
and one that waits for a human approval (JIT), each reporting its result, then the SDK's other calls: a capability
request, an MCP registration, an MCP detection report, the SDK-integration report and a capability report.
"""
import sys
from datetime import datetime, timezone

from aim_sdk import ActionDeniedError, secure


def main():
    phase, url, key_file = sys.argv[1], sys.argv[2], sys.argv[3]
    api_key = open(key_file).read().strip()
    agent = secure("billing-bot", aim_url=url, api_key=api_key)
    if phase == "register":
        return

    @agent.perform_action("read_database", resource="users_table")
    def read_users():
        return ["alice", "bob"]

    @agent.perform_action("delete_data", resource="users_table")
    def delete_users():
        return "deleted"

    @agent.perform_action("refund_payment", resource="order-42", context={"jit_access": True, "jit_timeout_seconds": 120})
    def refund():
        return "refunded order-42"

    print("== allowed:", read_users())
    try:
        delete_users()
        print("== NOT EXPECTED: delete ran")
    except ActionDeniedError as e:
        print("== denied: ActionDeniedError:", e)
    print("== JIT (waiting for an approver):", refund())
    r = agent.request_capability("write_database", "Need to update user records for the nightly sync")
    print("== capability request:", r["capability_type"], "->", r["capability"], r["status"])
    r = agent.register_mcp("filesystem-mcp-server")
    print("== MCP registration:", r["message"], r["talks_to"])
    r = agent.report_detections([{
        "mcpServer": "@modelcontextprotocol/server-github", "detectionMethod": "sdk_import", "confidence": 95.0,
        "details": {"packageName": "@modelcontextprotocol/server-github"}, "sdkVersion": "aim-sdk-python@1.0.0",
        "timestamp": datetime.now(timezone.utc).isoformat()}])
    print("== detection report:", r["message"], "new:", r["newMCPs"])
    r = agent.report_sdk_integration("aim-sdk-python@1.0.0", capabilities=["auto_detect_mcps", "capability_detection"])
    print("== SDK integration report:", r["message"])
    print("== capability report:", agent.report_capabilities(["read_database", "send_email"]))


if __name__ == "__main__":
    main()
