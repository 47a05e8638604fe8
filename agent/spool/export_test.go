package spool

// Internals for the external tests.
const (
	NamePrefix   = namePrefix
	EndLayout    = endLayout
	ActiveSuffix = activeSuffix
	RandLen      = randLen
	CountsSuffix = countsSuffix
)

var (
	ParseSealed = parseSealed
	ParseCounts = parseCounts
)

func (c WindowCounts) Marshal() []byte { return c.marshal() }

func SetMaxBuffer(s *Spool, n int) { s.maxBuffer = n }
