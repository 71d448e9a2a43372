"""What the contexts share: changesets, money and pagination."""
