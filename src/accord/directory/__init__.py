"""Directory: states, organisations and memberships, national agencies, points of contact."""
