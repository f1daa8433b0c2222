using System.Net;
using CoapEnroll.Transport;

namespace CoapEnroll.Coap.Tests.Observe;

/// <summary>
/// How the server shapes notifications per resource: every 2.xx notification confirmable when the resource asks for it
/// (RFC 7641 §4.5), and 4.06 to an observer whose Content-Format the resource no longer produces (§4.2).
/// </summary>
public class ObserveNotificationFormTests
{
    private static readonly byte[] Token = [0x0B, 0x01, 0x02, 0x03];

    [Fact]
    public async Task ResourceWithConfirmableNotifications_SendsEveryNotificationConfirmable()
    {
        await using var server = new CoapServer(new CoapServerOptions
        {
            Endpoint = { AckTimeout = TimeSpan.FromSeconds(1), MaxRetransmit = 2 },
            Observe = { MinNonConfirmableInterval = TimeSpan.Zero },
        });
        int state = 0;
        var resource = server.MapGet("/con", (_, _) => ValueTask.FromResult(
                new CoapMessage { Code = CoapCode.Content }.WithContentFormat(CoapContentFormat.TextPlain).WithPayload(Volatile.Read(ref state).ToString(System.Globalization.CultureInfo.InvariantCulture))))
            .Observable(confirmableNotifications: true);
        Assert.True(resource.HasConfirmableNotifications);
        var address = (IPEndPoint)server.Listen(UdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0))).LocalEndPoint;
        await using var peer = RawCoapPeer.Create(address);
        Assert.NotNull((await peer.RequestAsync(ObserveTestServer.Request("/con", Token))).Observe);

        for (int i = 1; i <= 3; i++)
        {
            Volatile.Write(ref state, i);
            resource.NotifyObservers();
            var notification = await peer.ReceiveAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(CoapMessageType.Confirmable, notification.Type);
            Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), notification.PayloadText);
            await peer.AckAsync(notification);
        }

        Assert.Equal(1, resource.ObserverCount);
    }

    [Fact]
    public async Task ContentFormatChange_Sends406WithoutObserve_AndRemovesObserver()
    {
        await using var server = new CoapServer(new CoapServerOptions
        {
            Endpoint = { AckTimeout = TimeSpan.FromSeconds(1), MaxRetransmit = 2 },
            Observe = { MinNonConfirmableInterval = TimeSpan.Zero },
        });
        int contentFormat = CoapContentFormat.TextPlain;
        var resource = server.MapGet("/format", (_, _) => ValueTask.FromResult(
                new CoapMessage { Code = CoapCode.Content }.WithContentFormat(Volatile.Read(ref contentFormat)).WithPayload("value")))
            .Observable();
        var address = (IPEndPoint)server.Listen(UdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0))).LocalEndPoint;
        await using var peer = RawCoapPeer.Create(address);
        Assert.NotNull((await peer.RequestAsync(ObserveTestServer.Request("/format", Token))).Observe);

        // The same format: an ordinary notification.
        resource.NotifyObservers();
        var same = await peer.ReceiveAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(CoapCode.Content, same.Code);
        Assert.NotNull(same.Observe);

        Volatile.Write(ref contentFormat, CoapContentFormat.Json);
        resource.NotifyObservers();
        var refused = await peer.ReceiveAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(CoapCode.NotAcceptable, refused.Code);
        Assert.Null(refused.Observe);
        Assert.Equal(CoapMessageType.Confirmable, refused.Type);
        Assert.Equal(Token, refused.Token.ToArray());
        await peer.AckAsync(refused);

        Assert.True(await ObserveTestServer.EventuallyAsync(() => resource.ObserverCount == 0));
        Assert.Equal(0, resource.NotifyObservers());
    }

    [Fact]
    public async Task RegistrationAnsweredValid_TakesTheFirstRepresentationsContentFormat()
    {
        await using var server = new CoapServer(new CoapServerOptions
        {
            Endpoint = { AckTimeout = TimeSpan.FromSeconds(1), MaxRetransmit = 2 },
            Observe = { MinNonConfirmableInterval = TimeSpan.Zero },
        });
        byte[] etag = [0xE7, 0x01];
        int state = 0;

        // RFC 7641 §3.3: a registration with the ETag of the current state may be answered 2.03 Valid, which has no Content-Format.
        var resource = server.MapGet("/valid", (context, _) => ValueTask.FromResult(
                Volatile.Read(ref state) == 0 && context.Request.ETag is { } asked && asked.Span.SequenceEqual(etag)
                    ? new CoapMessage { Code = CoapCode.Valid }.SetOption(new CoapOption(CoapOptionNumber.ETag, etag))
                    : new CoapMessage { Code = CoapCode.Content }.WithContentFormat(CoapContentFormat.TextPlain).WithPayload("changed")))
            .Observable();
        var address = (IPEndPoint)server.Listen(UdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0))).LocalEndPoint;
        await using var peer = RawCoapPeer.Create(address);
        var registration = ObserveTestServer.Request("/valid", Token).SetOption(new CoapOption(CoapOptionNumber.ETag, etag));
        var response = await peer.RequestAsync(registration);
        Assert.Equal(CoapCode.Valid, response.Code);
        Assert.NotNull(response.Observe);

        Volatile.Write(ref state, 1);
        resource.NotifyObservers();
        var notification = await peer.ReceiveAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(CoapCode.Content, notification.Code);
        Assert.Equal(CoapContentFormat.TextPlain, notification.ContentFormat);
        Assert.NotNull(notification.Observe);
        Assert.Equal(1, resource.ObserverCount);
    }
}
