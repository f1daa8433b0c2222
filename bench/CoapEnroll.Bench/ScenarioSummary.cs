namespace CoapEnroll.Bench;

/// <summary>One scenario and server of a serve-load JSON: the median requests/s over its <paramref name="Rounds"/>.</summary>
internal sealed record ScenarioSummary(string Scenario, string Server, int Rounds, double RequestsPerSecond);
