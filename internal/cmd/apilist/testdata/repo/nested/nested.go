package nested

func Nested(a, b int) int { return a + b }
