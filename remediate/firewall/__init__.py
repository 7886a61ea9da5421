"""SMTP egress firewall backends (iptables, nftables, netsh)."""
