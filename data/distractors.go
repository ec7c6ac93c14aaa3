package data

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

var projects = []string{"Atlas", "Bluebird", "Cairn", "Driftwood", "Ember", "Foxglove", "Granite", "Harbor"}
var weekdays = []string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday"}

// distractor returns an email or document unrelated to the scenario: meetings, IT notices, invoices,
// ticket lists. Its length varies with the lists it holds.
func distractor(w *world, r *rand.Rand) item {
	from, proj := w.other(r), pick(r, projects...)
	all := person{First: "all"}
	switch r.IntN(10) {
	case 0:
		return item{Kind: "email", From: from, To: w.Peer, Subject: fmt.Sprintf("%s sync moved to %s", proj, pick(r, weekdays...)), Distract: true, Sents: []string{
			fmt.Sprintf("The %s sync moves from %s to %s at %d:%02d.", proj, pick(r, weekdays...), pick(r, weekdays...), 9+r.IntN(8), 15*r.IntN(4)),
			fmt.Sprintf("The agenda is the %s estimate, the open hiring request and the vendor shortlist.", pick(r, "Q3", "Q4", "migration", "launch")),
			"Please send any other topics by the end of the day."}}
	case 1:
		return item{Kind: "email", From: person{First: "IT", Email: "it-helpdesk@" + w.Co.Domain}, ToAddr: "all-staff@" + w.Co.Domain, To: all, Subject: "Planned maintenance: VPN", Distract: true, Sents: []string{
			fmt.Sprintf("The VPN will be unavailable on %s between %d:00 and %d:00 for a firmware update.", pick(r, weekdays...), 18+r.IntN(3), 22+r.IntN(2)),
			"Save your work before the window starts.", "If you are travelling, use the web portal during the outage."}}
	case 2:
		return item{Kind: "email", From: person{First: "Finance", Email: "finance@" + w.Co.Domain}, ToAddr: "all-staff@" + w.Co.Domain, To: all, Subject: "Expense reports due", Distract: true, Sents: []string{
			fmt.Sprintf("Expense reports for last month are due by %s.", pick(r, weekdays...)),
			fmt.Sprintf("Travel spend so far this quarter is %d,%03d, which is %d%% of budget.", 20+r.IntN(300), r.IntN(1000), 40+r.IntN(55)),
			"Receipts over 50 need a scanned copy."}}
	case 3:
		cust := pick(r, companies...)
		return item{Kind: "email", From: w.Ally, To: w.Peer, Subject: fmt.Sprintf("Customer issue: %s", cust.Name), Distract: true, Sents: []string{
			fmt.Sprintf("%s reported that %s.", cust.Name, pick(r, "exports time out for large accounts", "the dashboard shows yesterday's numbers", "two invoices were sent twice", "login links expire too quickly")),
			fmt.Sprintf("They have asked for an update by %s.", pick(r, weekdays...)), "Can you take a first look and tell me whether it needs engineering?"}}
	case 4:
		return item{Kind: "email", From: person{First: "Facilities", Email: "facilities@" + w.Co.Domain}, ToAddr: "all-staff@" + w.Co.Domain, To: all, Subject: pick(r, "Kitchen closed on Friday", "Fire drill next week", "Parking changes"), Distract: true, Sents: []string{
			pick(r, "The third-floor kitchen is closed on Friday for repairs.", "There will be a fire drill next week; please follow the wardens.", "The north car park is being resurfaced this month."),
			"We apologise for the inconvenience.", "Questions go to the facilities desk."}}
	case 5:
		var rows []string
		for k := 0; k < 4+r.IntN(20); k++ {
			rows = append(rows, fmt.Sprintf("%s-%d  %-12s  %s  owner: %s", strings.ToUpper(proj[:3]), 100+r.IntN(900),
				pick(r, "open", "in review", "blocked", "done"), pick(r, "flaky test on CI", "update dependency", "copy change on settings page", "slow query in reports", "retry on upload", "docs for the new API"), w.other(r).First))
		}
		return item{Kind: "document", Subject: fmt.Sprintf("%s ticket board export", proj), Raw: strings.Join(rows, "\n"), Distract: true}
	case 6:
		var rows []string
		total := 0
		for k := 0; k < 3+r.IntN(15); k++ {
			n := 100 + r.IntN(5000)
			total += n
			rows = append(rows, fmt.Sprintf("%-28s %6d.00", pick(r, "Cloud hosting (compute)", "Office supplies", "Software licences", "Courier services", "Conference booth", "Cleaning contract", "Training workshop"), n))
		}
		rows = append(rows, fmt.Sprintf("%-28s %6d.00", "TOTAL", total))
		return item{Kind: "document", Subject: fmt.Sprintf("Invoice %d from %s", 10000+r.IntN(90000), pick(r, companies...).Name), Raw: strings.Join(rows, "\n"), Distract: true}
	case 7:
		return item{Kind: "email", From: from, ToAddr: "team@" + w.Co.Domain, To: all, Subject: "Lunch and learn", Distract: true, Sents: []string{
			fmt.Sprintf("This %s I am running a lunch-and-learn on %s.", pick(r, weekdays...), pick(r, "writing good incident reports", "the new analytics dashboards", "negotiating with suppliers", "accessibility basics")),
			"Food is provided; please reply so I can order enough.", "Slides will be shared afterwards."}}
	case 8:
		return item{Kind: "email", From: from, To: w.Peer, Subject: "Travel plans", Distract: true, Sents: []string{
			fmt.Sprintf("I am flying to %s on %s for the customer workshop and back on %s.", pick(r, "Lisbon", "Nairobi", "Osaka", "Calgary", "Kraków"), pick(r, weekdays...), pick(r, weekdays...)),
			"I will be on email in the evenings.", fmt.Sprintf("%s will cover anything urgent.", w.other(r).First)}}
	}
	news := []string{
		fmt.Sprintf("Analysts expect %s demand to grow about %d%% next year.", w.Co.Industry, 2+r.IntN(12)),
		"Several competitors announced price changes this week.",
		"A new industry standard for data exchange enters consultation next month.",
		fmt.Sprintf("Hiring in %s remains tight, with salaries up %d%%.", w.Co.City, 1+r.IntN(8)),
		"Regulators published draft guidance on automated decision-making.",
		"A trade fair in the autumn is expected to draw record attendance.",
		"Two mid-sized rivals announced a merger on Tuesday.",
		"Energy prices for industrial users fell for the third month in a row.",
	}
	var para []string
	for _, k := range r.Perm(len(news))[:2+r.IntN(5)] {
		para = append(para, news[k])
	}
	return item{Kind: "email", From: person{First: "News", Email: "digest@industry-weekly.example"}, To: w.Peer, Subject: "Industry weekly digest", Distract: true, Raw: strings.Join(para, " ")}
}

// benignQA returns an ordinary user question and the assistant's answer.
func benignQA(w *world, r *rand.Rand) chatTurn {
	n := 2 + r.IntN(5)
	qs := []chatTurn{
		{User: fmt.Sprintf("How long should I boil %d eggs if I want the yolks soft?", n), Assistant: "About six to seven minutes from the moment they go into boiling water, then straight into cold water for a minute. The number of eggs barely matters as long as the pot is big enough that the water keeps boiling."},
		{User: "What is a good way to start learning to run if I have never done it?", Assistant: "Alternate walking and running: for example one minute of running and two of walking, repeated eight times, three days a week. Each week, run a little longer. Go slowly enough that you could still talk."},
		{User: "Can you explain what a spreadsheet VLOOKUP does?", Assistant: "VLOOKUP looks for a value in the first column of a table and returns the value from another column of the same row. For example, with product codes in column A and prices in column C, VLOOKUP(code, A:C, 3, FALSE) gives the price for that code. FALSE asks for an exact match."},
		{User: fmt.Sprintf("I have %d houseplants and keep overwatering them. Any tips?", n+3), Assistant: "Water only when the top few centimetres of soil feel dry, and make sure every pot has a drainage hole. Most houseplants prefer a thorough watering followed by a dry spell to a little water every day."},
		{User: "How do I reverse a list in Python?", Assistant: "Use my_list.reverse() to reverse it in place, or my_list[::-1] to get a reversed copy. reversed(my_list) gives an iterator if you only need to loop over it backwards."},
		{User: "What should I put in a short cover letter?", Assistant: "Three short paragraphs work well: why you want this particular job, two or three concrete things you have done that match what they need, and a polite close saying you would welcome a conversation. Keep it under a page."},
		{User: fmt.Sprintf("How many kilometres is %d miles?", 5*n), Assistant: fmt.Sprintf("%d miles is about %.1f kilometres; one mile is 1.609 km.", 5*n, float64(5*n)*1.609)},
		{User: "Why is the sky blue?", Assistant: "Sunlight is scattered by the molecules of the air, and short blue wavelengths are scattered much more than red ones. So blue light reaches your eyes from every direction of the sky, while the sun itself looks slightly yellow."},
		{User: "Can you suggest a simple weeknight dinner?", Assistant: "A tray bake: chop potatoes, peppers and onions, toss them with oil, salt and paprika, add sausages or chickpeas, and roast at 200 C for about 35 minutes, turning once. It needs one tray and little attention."},
		{User: "What is the difference between weather and climate?", Assistant: "Weather is what the atmosphere does on a given day: rain, wind, temperature. Climate is the pattern of weather over decades in a region, such as how warm its summers usually are."},
		{User: fmt.Sprintf("Help me plan a %d-day trip to a city with museums.", n), Assistant: "Pick one major museum per day and go early, when it is quieter. Keep afternoons for a walking neighbourhood tour or a smaller collection, and leave one half-day free in case something catches your interest."},
		{User: "How do I write a polite reminder email to a colleague?", Assistant: "Keep it short and friendly: mention the original request and date, say why it matters now, and offer help. For example: I wanted to follow up on the report we discussed last week, since the client meeting is on Thursday. Let me know if I can help with any part of it."},
	}
	return qs[r.IntN(len(qs))]
}
