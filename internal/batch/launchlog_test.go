package batch

import "testing"

// Lines as Spark 3.5 and 4.x print them at a driver's start, in local and standalone mode.
func TestLaunchLogReadsTheApplicationFromItsDriversLog(t *testing.T) {
	for _, tc := range []struct {
		name      string
		lines     []string
		appID, ui string
		up        bool
	}{
		{name: "Spark 4 on standalone, client mode", lines: []string{
			"26/12/01 12:07:29 INFO SparkContext: Submitted application: PythonPi",
			"26/12/01 12:07:30 INFO Utils: Successfully started service 'SparkUI' on port 4041.",
			"26/12/01 12:07:30 INFO StandaloneSchedulerBackend: Connected to Spark cluster with app ID app-20261201120730-0000",
			"26/12/01 12:07:30 INFO BlockManagerMaster: Registered BlockManager BlockManagerId(driver, 192.0.2.2, 33381, None)",
		}, appID: "app-20261201120730-0000", ui: "http://192.0.2.2:4041", up: true},
		{name: "Spark 4 in local mode", lines: []string{
			"26/12/01 12:07:55 INFO SparkContext: Submitted application: PythonPi",
			"26/12/01 12:07:56 INFO Utils: Successfully started service 'SparkUI' on port 4040.",
			"26/12/01 12:07:56 INFO BlockManagerMaster: Registered BlockManager BlockManagerId(driver, 192.0.2.2, 38043, None)",
		}, ui: "http://192.0.2.2:4040", up: true},
		{name: "Spark 3.5 prints the UI's URL whole", lines: []string{
			"24/01/01 00:00:00 INFO SparkUI: Bound SparkUI to 0.0.0.0, and started at http://host-a:4040",
			"24/01/01 00:00:01 INFO YarnClientSchedulerBackend: Submitted application application_1700000000000_0001",
			"24/01/01 00:00:02 INFO BlockManagerMaster: Registered BlockManager BlockManagerId(driver, host-a, 40000, None)",
		}, appID: "application_1700000000000_0001", ui: "http://host-a:4040", up: true},
		{name: "not up before the block manager registers", lines: []string{
			"26/12/01 12:07:29 INFO SparkContext: Submitted application: PythonPi",
		}},
		{name: "the UI's stop is not its address", lines: []string{
			"26/12/01 12:08:00 INFO SparkUI: Stopped Spark web UI at http://192.0.2.2:4040",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var l launchLog
			for _, line := range tc.lines {
				l.scan(line)
			}
			if l.appID != tc.appID || l.sparkUI() != tc.ui || l.up != tc.up {
				t.Errorf("read app id %q, UI %q, up %v; want %q, %q, %v", l.appID, l.sparkUI(), l.up, tc.appID, tc.ui, tc.up)
			}
		})
	}
}
