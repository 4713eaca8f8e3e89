package batch

import "testing"

func TestCheckCronScheduleMessages(t *testing.T) {
	tests := []struct {
		name, spec, want string
	}{
		{name: "valid", spec: "15 */2 1,15 * 1-5"},
		{name: "empty", spec: "", want: "empty spec string"},
		{name: "field count", spec: "* * * *", want: "expected exactly 5 fields, found 4: [* * * *]"},
		{name: "above maximum", spec: "0 24 * * *", want: "end of range (24) above maximum (23): 24"},
		{name: "below minimum", spec: "0 0 0 * *", want: "beginning of range (0) below minimum (1): 0"},
		{name: "not a number", spec: "x * * * *", want: `failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax`},
		{name: "descriptor", spec: "@often", want: "unrecognized descriptor: @often"},
		{name: "too many slashes", spec: "*/2/3 * * * *", want: "too many slashes: */2/3"},
		{name: "bad location", spec: "CRON_TZ=Nowhere/City 0 * * * *", want: "provided bad location Nowhere/City: unknown time zone Nowhere/City"},
		{name: "location", spec: "CRON_TZ=Asia/Tokyo 0 * * * *"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkCronSchedule(tt.spec)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("error = %q, want %q", got, tt.want)
			}
		})
	}
}
