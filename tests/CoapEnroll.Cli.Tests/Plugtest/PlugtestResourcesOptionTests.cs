using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Coap;

namespace CoapEnroll.Cli.Tests.Plugtest;

/// <summary>
/// <c>Coap:PlugtestResources</c>: the writable conformance resources are off unless asked for, and asking for them without
/// the diagnostic <c>/test</c> they extend is refused at start.
/// </summary>
public sealed class PlugtestResourcesOptionTests
{
    [Fact]
    public async Task Default_ServesNoPlugtestResources_AndPostTestStillEchoes()
    {
        await using var server = await InProcessServer.StartAsync();
        using var client = new RawCoapClient(server.EndPoint);

        foreach (string path in new[] { "/separate", "/seg1/seg2/seg3", "/query", "/multi-format", "/validate", "/create1", "/location1/location2/location3" })
        {
            var response = await client.ExchangeAsync(RawCoapClient.Request(CoapMessageType.Confirmable, CoapCode.Get, path));
            Assert.True(response.Code == CoapCode.NotFound, $"GET {path} on a default serve: {response}");
        }

        var echo = await client.ExchangeAsync(RawCoapClient.Request(CoapMessageType.Confirmable, CoapCode.Post, "/test")
            .WithContentFormat(CoapContentFormat.TextPlain).WithPayload("echo me"));
        Assert.True(echo.Code == CoapCode.Changed && echo.PayloadText == "echo me" && echo.LocationPath.Count == 0, echo.ToString());
    }

    [Fact]
    public async Task PlugtestWithoutDiagnosticResources_IsAUsageError()
    {
        var result = await CliRunner.RunAsync("serve", "--coap-port", "0", "--http-port", "0", "--Coap:PlugtestResources=true", "--Coap:DiagnosticResources=false");

        Assert.True(result.ExitCode == ExitCodes.Usage, result.Describe());
        Assert.Contains("Coap:PlugtestResources=true needs Coap:DiagnosticResources=true", result.Error, StringComparison.Ordinal);
    }
}
