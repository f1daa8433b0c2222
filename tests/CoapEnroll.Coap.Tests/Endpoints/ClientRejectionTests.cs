using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using CoapEnroll.Transport;

namespace CoapEnroll.Coap.Tests.Endpoints;

/// <summary>A raw socket plays a server that rejects or misanswers; the client must fail at once, not wait out its response timeout.</summary>
public class ClientRejectionTests
{
    private static async Task<CoapProtocolException> RunAgainstRawServerAsync(CoapMessageType requestType, Func<CoapMessage, CoapMessage> answer)
    {
        using var raw = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        raw.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var serverAddress = (IPEndPoint)raw.LocalEndPoint!;
        var options = new CoapClientOptions { Endpoint = { ResponseTimeout = TimeSpan.FromSeconds(30) } };
        await using var client = new CoapClient(UdpDatagramChannel.BindEphemeralFor(serverAddress), options);

        var serve = Task.Run(async () =>
        {
            var buffer = new byte[1500];
            var received = await raw.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0));
            var request = CoapMessageDecoder.Decode(buffer.AsMemory(0, received.ReceivedBytes).ToArray());
            await raw.SendToAsync(CoapMessageEncoder.Encode(answer(request)), received.RemoteEndPoint);
        });

        var clock = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<CoapProtocolException>(
            () => client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/x", requestType), serverAddress, CancellationToken.None));
        await serve;
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"The client waited {clock.Elapsed} instead of failing at once.");
        return error;
    }

    [Fact]
    public async Task ResetToNonConfirmableRequest_FailsWithReset()
    {
        var error = await RunAgainstRawServerAsync(CoapMessageType.NonConfirmable,
            request => CoapMessage.CreateEmpty(CoapMessageType.Reset, request.MessageId));
        Assert.Equal(CoapError.Reset, error.Error);
    }

    [Fact]
    public async Task PiggybackedResponseWithForeignToken_FailsWithProtocolViolation()
    {
        var error = await RunAgainstRawServerAsync(CoapMessageType.Confirmable, request => new CoapMessage
        {
            Type = CoapMessageType.Acknowledgement,
            Code = CoapCode.Content,
            MessageId = request.MessageId,
            Token = new byte[] { 0xDE, 0xAD },
        });
        Assert.Equal(CoapError.ProtocolViolation, error.Error);
    }
}
