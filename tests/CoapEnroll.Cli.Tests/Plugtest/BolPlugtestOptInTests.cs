using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Coap;

namespace CoapEnroll.Cli.Tests.Plugtest;

/// <summary>
/// The plugtest resources are opt-in (<c>Coap:PlugtestResources</c>): a server on its defaults offers nothing anyone may write
/// beyond the diagnostic <c>/test</c>, and keeps its read-only <c>/obs</c> clock.
/// </summary>
public sealed class BolPlugtestOptInTests
{
    [Fact]
    [Trait("Needs", "core")]
    public async Task By_default_the_plugtest_resources_are_not_served()
    {
        await using var server = await InProcessServer.StartAsync();
        await using var raw = new BolRawClient(server.Port);

        foreach (string path in new[] { "/large-update", "/large-create", "/large-post", "/obs-non", "/obs-large", "/link1", "/path" })
        {
            var response = await raw.RequestAsync(CoapMessage.CreateRequest(CoapCode.Get, path));
            Assert.True(response.Code == CoapCode.NotFound, $"GET {path} on a default server: {response}");
        }

        var put = await raw.RequestAsync(CoapMessage.CreateRequest(CoapCode.Put, "/obs").WithPayload("x"));
        Assert.True(put.Code == CoapCode.MethodNotAllowed, $"The default /obs is read-only: {put}");

        var (_, core) = await raw.FetchAsync(CoapMessage.CreateRequest(CoapCode.Get, "/.well-known/core"));
        string links = System.Text.Encoding.UTF8.GetString(core);
        Assert.True(links.Contains("</obs>", StringComparison.Ordinal) && !links.Contains("</large-update>", StringComparison.Ordinal), links);
    }

    [Fact]
    [Trait("Needs", "core")]
    public async Task A_plugtest_interval_out_of_range_stops_the_start_naming_the_key()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var server = await InProcessServer.StartAsync(new Dictionary<string, string?>
            {
                ["Coap:PlugtestResources"] = "true",
                ["Coap:PlugtestObserveIntervalSeconds"] = "0",
            });
        });

        Assert.Contains("Coap:PlugtestObserveIntervalSeconds", error.Message, StringComparison.Ordinal);
    }
}
