using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace CoapEnroll.Cmp.Tests.Client;

/// <summary>CmpHttpTransport asks for the connection to close after a transaction's last message, and not before.</summary>
public sealed class CmpHttpTransportTests
{
    private static readonly byte[] Secret = Encoding.UTF8.GetBytes("http-transport-secret");

    /// <summary>Records each request's Connection: close and answers it with a MAC-protected genp.</summary>
    private sealed class RecordingHandler : HttpMessageHandler
    {
        public List<(PkiBodyType Body, bool Close)> Requests { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            byte[] der = await request.Content!.ReadAsByteArrayAsync(cancellationToken);
            CmpDecodeResult decoded = PkiMessageCodec.Decode(der);
            Assert.True(decoded.IsSuccess, decoded.Reason);
            Requests.Add((decoded.Message.Body.BodyType, request.Headers.ConnectionClose == true));
            PkiHeader header = CmpRequests.Header(new X500DistinguishedName("CN=fake CA"), null, Encoding.UTF8.GetBytes("fake"),
                decoded.Message.Header.TransactionId!.Value, decoded.Message.Header.SenderNonce);
            var reply = CmpProtection.ProtectWithMac(
                new PkiMessage { Header = header, Body = new GenMsgBody(PkiBodyType.Genp) { Items = [new InfoTypeAndValue { InfoType = CmpInfoTypes.CaCerts }] } },
                Secret, CmpMacParameters.PasswordBasedMac());
            var content = new ByteArrayContent(PkiMessageCodec.Encode(reply));
            content.Headers.ContentType = new MediaTypeHeaderValue("application/pkixcmp");
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = content };
        }
    }

    [Fact]
    public async Task TheLastMessageOfATransaction_AsksToClose_OthersKeepTheConnection()
    {
        var handler = new RecordingHandler();
        using var http = new HttpClient(handler);
        var transport = new CmpHttpTransport(http, new Uri("http://cmp.invalid/pkix/"));
        var client = new CmpClient(transport, new CmpClientOptions { Reference = "ref", SharedSecret = Secret });

        await client.GeneralAsync([CmpInfoTypes.CaCerts], CancellationToken.None);
        Assert.Equal((PkiBodyType.Genm, true), Assert.Single(handler.Requests));

        PkiMessage genm = CmpProtection.ProtectWithMac(
            new PkiMessage
            {
                Header = CmpRequests.Header(new X500DistinguishedName("CN=device"), null, Encoding.UTF8.GetBytes("ref"), CmpRequests.NewId(), CmpRequests.NewId()),
                Body = new GenMsgBody(PkiBodyType.Genm) { Items = [new InfoTypeAndValue { InfoType = CmpInfoTypes.CaCerts }] },
            },
            Secret, CmpMacParameters.PasswordBasedMac());
        await transport.SendAsync(PkiMessageCodec.Encode(genm), endsTransaction: false, CancellationToken.None);
        Assert.Equal((PkiBodyType.Genm, false), handler.Requests[1]);
    }
}
