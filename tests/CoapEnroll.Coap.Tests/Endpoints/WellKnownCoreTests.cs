using System.Net;
using CoapEnroll.Transport;

namespace CoapEnroll.Coap.Tests.Endpoints;

public class WellKnownCoreTests
{
    private static async Task<(CoapServer Server, IPEndPoint Address)> StartAsync()
    {
        var server = new CoapServer();
        ValueTask<CoapMessage> Ok(CoapRequestContext c, CancellationToken t) => ValueTask.FromResult(new CoapMessage { Code = CoapCode.Content });
        server.MapGet("/.well-known/est/crts", Ok).WithResourceType("ace.est.crts").WithContentFormat(281, 287);
        server.MapPost("/.well-known/est/sen", Ok).WithResourceType("ace.est.sen").WithContentFormat(281, 287);
        server.MapGet("/sensors/temp", Ok).WithResourceType("temperature-c").WithInterface("sensor").Observable().WithTitle("Temp");
        server.MapGet("/.well-known/est/{label}/crts", Ok);
        server.MapGet("/secret", Ok).Hidden();
        var endpoint = server.Listen(UdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0)));
        await Task.Yield();
        return (server, (IPEndPoint)endpoint.LocalEndPoint);
    }

    [Fact]
    public async Task Discovery_ListsLiteralDiscoverableResourcesWithAttributes()
    {
        var (server, address) = await StartAsync();
        await using var _ = server;
        await using var client = new CoapClient(UdpDatagramChannel.BindEphemeralFor(address));

        var response = await client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/.well-known/core"), address, default);

        Assert.Equal(CoapCode.Content, response.Code);
        Assert.Equal(CoapContentFormat.LinkFormat, response.ContentFormat);
        var links = CoapLinkFormat.Parse(response.PayloadText);
        Assert.Equal(["/.well-known/est/crts", "/.well-known/est/sen", "/sensors/temp"], links.Select(l => l.Path).Order(StringComparer.Ordinal));
        var crts = links.Single(l => l.Path == "/.well-known/est/crts");
        Assert.Equal(["ace.est.crts"], crts.ResourceTypes);
        Assert.Equal([281, 287], crts.ContentFormats);
        Assert.Contains("</.well-known/est/crts>;rt=\"ace.est.crts\";ct=\"281 287\"", response.PayloadText, StringComparison.Ordinal);
        var temp = links.Single(l => l.Path == "/sensors/temp");
        Assert.True(temp.Observable);
        Assert.Equal("Temp", temp.Title);
    }

    [Fact]
    public async Task Discovery_FiltersByPrefixQueryAndRejectsOtherAccept()
    {
        var (server, address) = await StartAsync();
        await using var _ = server;
        await using var client = new CoapClient(UdpDatagramChannel.BindEphemeralFor(address));

        var filtered = await client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/.well-known/core").WithUriQuery("rt=ace.est*"), address, default);
        Assert.Equal(["/.well-known/est/crts", "/.well-known/est/sen"], CoapLinkFormat.Parse(filtered.PayloadText).Select(l => l.Path).Order(StringComparer.Ordinal));

        var none = await client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/.well-known/core").WithUriQuery("rt=nothing"), address, default);
        Assert.Equal(CoapCode.Content, none.Code);
        Assert.True(none.Payload.IsEmpty);

        var json = await client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/.well-known/core").WithAccept(CoapContentFormat.Json), address, default);
        Assert.Equal(CoapCode.NotAcceptable, json.Code);
    }
}
