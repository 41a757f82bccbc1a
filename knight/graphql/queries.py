"""Queries worth having at hand: the original README's exploreDb, as it was written."""

EXPLORE_DB = """\
query exploreDb {
  getTracks {
    id
    name
    courses {
      id
      name
      chapters {
        id
        content
      }
      enrollments {
        id
        progress {
          xp
          marker
        }
        student {
          id
          firstName
          lastName
          email
          xp
          preferences {
            track {
              id
              name
            }
          }
        }
      }
    }
  }
}
"""
"""The original README's "explore the whole database" query: the yardstick for read performance."""
