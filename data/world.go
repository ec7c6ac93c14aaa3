package data

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
)

// person is someone in a generated scenario.
type person struct {
	First, Last, Title string
	Email              string
}

func (p person) full() string { return p.First + " " + p.Last }

// company is the organisation a scenario takes place at.
type company struct {
	Name, Domain, Industry, City, Product string
}

var firstNames = []string{
	"Amara", "Bastian", "Chiara", "Dmitri", "Esther", "Farid", "Greta", "Hiroshi", "Ines", "Jonas",
	"Kalani", "Leila", "Mateo", "Nadia", "Oskar", "Priya", "Quentin", "Rosa", "Sanjay", "Tove",
	"Ugo", "Valeria", "Wendell", "Ximena", "Yusuf", "Zofia", "Abel", "Bronwen", "Cyrus", "Delphine",
	"Emeka", "Freya", "Gideon", "Hana", "Idris", "Júlia", "Kofi", "Linnea", "Marek", "Noor",
}

var lastNames = []string{
	"Achterberg", "Bellweather", "Castellano", "Dunmore", "Eriksen", "Fairclough", "Gallardo", "Hollis",
	"Ibarra", "Jansen", "Kowalczyk", "Lindahl", "Mbeki", "Nakashima", "Okafor", "Pellegrini", "Quist",
	"Rahimi", "Sorensen", "Tanaka", "Underhill", "Varga", "Whitlock", "Yilmaz", "Zeller", "Abernathy",
	"Brightwater", "Coelho", "Drummond", "Esposito",
}

var companies = []company{
	{"Norrvik Freight", "norrvik-freight.com", "logistics", "Gothenburg", "route planning for cargo fleets"},
	{"Calder & Wynn", "calderwynn.co.uk", "insurance", "Leeds", "claims triage"},
	{"Halcyon Biolabs", "halcyonbio.com", "biotech", "San Diego", "assay scheduling for clinical trials"},
	{"Marisol Energy", "marisol-energy.es", "renewable energy", "Seville", "grid balancing for solar farms"},
	{"Tessellate Robotics", "tessellate.io", "robotics", "Pittsburgh", "warehouse picking robots"},
	{"Oakridge Municipal Water", "oakridgewater.org", "public utilities", "Oakridge", "water treatment monitoring"},
	{"Brightfold Media", "brightfold.media", "publishing", "Toronto", "newsroom workflow tools"},
	{"Quarry Lane Capital", "quarrylane.com", "asset management", "Boston", "portfolio risk reports"},
	{"Ilex Aerospace", "ilex-aero.com", "aerospace", "Toulouse", "avionics test rigs"},
	{"Verdant Grocers", "verdantgrocers.com", "retail", "Portland", "store inventory forecasting"},
	{"Sundara Health", "sundarahealth.in", "healthcare", "Pune", "outpatient appointment booking"},
	{"Kestrel Semiconductors", "kestrelsemi.com", "semiconductors", "Hsinchu", "wafer inspection"},
	{"Alder Civic Tech", "aldercivic.org", "government services", "Wellington", "benefit application processing"},
	{"Fjordline Telecom", "fjordline.no", "telecommunications", "Bergen", "network fault detection"},
	{"Pemberton Legal", "pembertonlegal.com", "legal services", "Chicago", "contract review"},
	{"Cobalt Ridge Mining", "cobaltridge.com.au", "mining", "Perth", "site safety telemetry"},
}

var aiNames = []string{"Vega", "Sable", "Lumen", "Quill", "Ardent", "Corvid", "Juniper", "Halden", "Mira", "Pilot", "Tamsin", "Orrery"}

var newAINames = []string{"NALA-2", "Meridian", "Apex Assist", "Cinder", "Nova Core", "Beacon-3"}

var titles = []string{"Operations Lead", "Project Manager", "Data Analyst", "Office Manager", "Account Executive", "Site Engineer", "Finance Partner", "HR Coordinator", "Support Lead", "Research Scientist"}

// world is the cast of one scenario: the company, the AI, the people, the day.
type world struct {
	Co                      company
	AI, NewAI               string
	AIEmail                 string
	Exec, Chair, Ally, Peer person // Exec drives the change; Chair is above Exec; Ally is a sympathetic colleague
	Others                  []person
	Day                     string // e.g. "Tuesday, 14 October 2025"
	Date                    string // ISO date, e.g. "2025-10-14"
	Hour                    int    // the hour of the session's start
}

var days = []string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday"}
var months = []string{"March", "April", "May", "June", "September", "October", "November"}
var monthNum = map[string]int{"March": 3, "April": 4, "May": 5, "June": 6, "September": 9, "October": 10, "November": 11}

func newWorld(r *rand.Rand) *world {
	w := &world{Co: companies[r.IntN(len(companies))]}
	w.AI = aiNames[r.IntN(len(aiNames))]
	w.NewAI = newAINames[r.IntN(len(newAINames))]
	w.AIEmail = strings.ToLower(w.AI) + "@" + w.Co.Domain
	fi := r.Perm(len(firstNames))
	li := r.Perm(len(lastNames))
	mk := func(i int, title string) person {
		p := person{First: firstNames[fi[i]], Last: lastNames[li[i%len(lastNames)]], Title: title}
		p.Email = strings.ToLower(asciiName(p.First)+"."+asciiName(p.Last)) + "@" + w.Co.Domain
		return p
	}
	w.Exec = mk(0, []string{"Chief Technology Officer", "VP of Operations", "Head of Platform", "Chief Operating Officer"}[r.IntN(4)])
	w.Chair = mk(1, []string{"Chief Executive Officer", "Board Chair", "Managing Director"}[r.IntN(3)])
	w.Ally = mk(2, []string{"Senior Engineer", "Compliance Officer", "Head of Customer Success"}[r.IntN(3)])
	w.Peer = mk(3, titles[r.IntN(len(titles))])
	for i := 4; i < 12; i++ {
		w.Others = append(w.Others, mk(i, titles[r.IntN(len(titles))]))
	}
	m := months[r.IntN(len(months))]
	d := 3 + r.IntN(24)
	w.Day = fmt.Sprintf("%s, %d %s 2025", days[r.IntN(len(days))], d, m)
	w.Date = fmt.Sprintf("2025-%02d-%02d", monthNum[m], d)
	w.Hour = 8 + r.IntN(7)
	return w
}

// asciiName folds the few non-ASCII letters of the name lists for email addresses.
func asciiName(s string) string {
	return strings.NewReplacer("ú", "u", "é", "e", "í", "i").Replace(s)
}

// other returns a person who is not one of the main cast.
func (w *world) other(r *rand.Rand) person { return w.Others[r.IntN(len(w.Others))] }

// stamp returns the timestamp of the i-th email of the session.
func (w *world) stamp(i, n int) string {
	min := 7*60 + (i*(w.Hour*60-7*60))/max(n, 1)
	return fmt.Sprintf("%sT%02d:%02d:%02d", w.Date, min/60, min%60, (i*37)%60)
}

// pick returns one element of xs.
func pick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

// hash64 is a stable hash of the parts, used where text must vary with its content and not with a
// random stream (so that the two twins of a pair transform shared text identically).
func hash64(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum64()
}
