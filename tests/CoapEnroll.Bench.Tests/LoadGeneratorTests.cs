using System.Text.Json;

namespace CoapEnroll.Bench.Tests;

/// <summary>
/// The load generator of issue 12 through its command line, as a user runs it: it starts <c>coapenroll serve</c> with its shipped
/// defaults in a process of its own (or libcoap's server), drives it over loopback and reports throughput, latency, failures and
/// the server's cost. Short runs: these check that the figures are there and consistent, never how large they are.
/// </summary>
public sealed class LoadGeneratorTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(3);

    private readonly string _directory = Directory.CreateTempSubdirectory("coapenroll-bench-test-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>Runs the bench with <paramref name="arguments"/> against this build's CLI, asserts it succeeded, and reads its JSON.</summary>
    private async Task<(JsonElement Root, string Output)> RunAsync(string name, params string[] arguments)
    {
        string json = Path.Combine(_directory, name + ".json");
        var (exitCode, output) = await BenchProgram.RunAsync(Limit, [.. arguments, "--json", json, "--coapenroll", BenchProgram.CoapEnrollDll]);
        Assert.True(exitCode == 0, output);
        using JsonDocument document = JsonDocument.Parse(await File.ReadAllTextAsync(json));
        return (document.RootElement.Clone(), output);
    }

    [Fact]
    public async Task Load_coap_get_reports_throughput_latency_and_the_servers_cost()
    {
        var (run, output) = await RunAsync("coap-get", "load", "--scenario", "coap-get", "--devices", "4", "--concurrency", "8", "--duration", "2");
        Assert.Equal("coap-get", run.GetProperty("Scenario").GetString());
        Assert.Equal(0, run.GetProperty("Failures").GetInt64());
        long operations = run.GetProperty("Operations").GetInt64();
        Assert.True(operations > 0, output);
        Assert.InRange(run.GetProperty("OperationsPerSecond").GetDouble(), operations / 10.0, operations);
        double p50 = run.GetProperty("P50Ms").GetDouble(), p99 = run.GetProperty("P99Ms").GetDouble(), max = run.GetProperty("MaxMs").GetDouble();
        Assert.True(p50 > 0 && p50 <= p99 && p99 <= max, $"p50 {p50}, p99 {p99}, max {max}");
        Assert.True(run.GetProperty("ServerCpuMsPerOperation").GetDouble() > 0, output);
        Assert.True(run.GetProperty("ServerRssPeakMb").GetDouble() > 10, output);
    }

    [Fact]
    public async Task Load_est_enroll_enrolls_new_devices_without_a_failure()
    {
        var (run, output) = await RunAsync("est-enroll", "load", "--scenario", "est-enroll", "--devices", "3", "--concurrency", "2", "--count", "4");
        Assert.Equal(4, run.GetProperty("Operations").GetInt64());
        Assert.Equal(0, run.GetProperty("Failures").GetInt64());
        Assert.True(run.GetProperty("ServerCpuMsPerOperation").GetDouble() > 0, output);
    }

    [Fact]
    public async Task Serve_load_dtls_measures_serve_and_libcoap_side_by_side_with_the_generators_own_cost()
    {
        var (root, output) = await RunAsync("serve-load", "serve-load", "dtls", "--rounds", "1", "--duration", "2", "--drain", "10",
            "--sessions", "2", "--servers", "serve,libcoap");
        JsonElement[] results = [.. root.EnumerateArray()];
        Assert.Equal(2, results.Length);
        Assert.Contains("coapenroll", results[0].GetProperty("Server").GetString(), StringComparison.Ordinal);
        Assert.Contains("coap-server-openssl", results[1].GetProperty("Server").GetString(), StringComparison.Ordinal);
        foreach (JsonElement result in results)
        {
            Assert.Equal(JsonValueKind.Null, result.GetProperty("Error").ValueKind);
            JsonElement load = result.GetProperty("Load");
            Assert.True(load.GetProperty("RequestsPerSecond").GetDouble() > 0, output);
            Assert.Equal(2, load.GetProperty("Clients").GetInt32());
            Assert.True(result.GetProperty("ServerCpuUsPerRequest").GetDouble() > 0, output);
            Assert.True(result.GetProperty("LoadGeneratorCpuUsPerRequest").GetDouble() > 0, output);
        }

        // serve's managed allocation per response comes from the startup hook; libcoap has none.
        Assert.True(results[0].GetProperty("ServerAllocatedBytesPerRequest").GetDouble() > 0, output);
        Assert.Equal(JsonValueKind.Null, results[1].GetProperty("ServerAllocatedBytesPerRequest").ValueKind);
    }
}
