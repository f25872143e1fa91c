"""Key-order processing: EMP charging-key orders crawled, fulfilled from stock and assigned;
Drive key orders placed for users and tracked. docs/key-orders.md"""
