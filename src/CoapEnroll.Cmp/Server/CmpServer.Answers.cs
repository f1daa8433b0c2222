using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using CoapEnroll.Ca;

namespace CoapEnroll.Cmp;

public sealed partial class CmpServer
{
    /// <summary>
    /// The header of an answer (RFC 9483 §3.1): the same transactionID, a fresh senderNonce, recipNonce the request's senderNonce,
    /// recipient the request's sender; sender and senderKID name what protects it (the CA and the MAC reference, or the signer).
    /// </summary>
    private PkiHeader AnswerHeader(CmpExchange exchange, IReadOnlyList<InfoTypeAndValue>? generalInfo, byte[] senderNonce, bool withTransaction = true)
    {
        PkiHeader request = exchange.Request.Header;
        bool mac = exchange.Secret is not null;
        CmpProtectionKey protection = exchange.Protection ?? _protection;
        DateTimeOffset now = _time.GetUtcNow();
        return new PkiHeader
        {
            Pvno = exchange.AnswerPvno,
            Sender = CmpGeneralName.FromDirectoryName(mac ? _enrollment.Hierarchy.IssuingCa.SubjectName : protection.Certificate.SubjectName),
            Recipient = request.Sender,
            MessageTime = CmpDer.WholeSeconds(now),
            SenderKid = mac ? Encoding.UTF8.GetBytes(exchange.Reference!) : protection.KeyId,
            RecipKid = request.SenderKid,
            TransactionId = withTransaction && request.TransactionId is { } id ? id : RandomNumberGenerator.GetBytes(NonceLength),
            SenderNonce = senderNonce,
            RecipNonce = request.SenderNonce,
            GeneralInfo = generalInfo is { Count: > 0 } ? generalInfo : null,
        };
    }

    private PkiMessage Answer(CmpExchange exchange, PkiBody body, IReadOnlyList<InfoTypeAndValue>? generalInfo = null, byte[]? senderNonce = null) => new()
    {
        Header = AnswerHeader(exchange, generalInfo, senderNonce ?? RandomNumberGenerator.GetBytes(NonceLength)),
        Body = body,
    };

    /// <summary>An error message (RFC 9810 §5.3.21) with its failInfo and a statusString that says what to do.</summary>
    private PkiMessage ErrorAnswer(CmpExchange exchange, PkiFailureInfo failure, string text, bool withTransaction = true)
    {
        LogRefusal(_logger, exchange.Context.FrontEnd, exchange.Who, failure.ToString(), text);
        return new PkiMessage
        {
            Header = AnswerHeader(exchange, null, RandomNumberGenerator.GetBytes(NonceLength), withTransaction),
            Body = new ErrorBody { StatusInfo = Rejection(failure, text) },
        };
    }

    private static PkiStatusInfo Rejection(PkiFailureInfo failure, string text) =>
        new() { Status = (int)PkiStatus.Rejection, FailInfo = (int)failure, StatusString = [text] };

    private static PkiStatusInfo Accepted(string? text = null) =>
        new() { Status = (int)PkiStatus.Accepted, StatusString = text is null ? null : [text] };

    /// <summary>
    /// Protects and encodes an answer: with the request's shared secret when its MAC verified (PBMAC1 answers PBMAC1), else signed
    /// by the <see cref="ProtectionKey"/> (or <see cref="CmpExchange.Protection"/>) with its chain in extraCerts;
    /// <see cref="CmpExchange.ExtraCertificates"/> (the issued certificate's chain) join extraCerts either way.
    /// </summary>
    /// <exception cref="CaKeyUnavailableException">The protection key is on a token that cannot be reached now.</exception>
    private async ValueTask<byte[]> EncodeAsync(CmpExchange exchange, PkiMessage answer, CancellationToken cancellationToken)
    {
        PkiMessage protectedAnswer;
        if (exchange.Secret is { } secret)
        {
            CmpMacParameters parameters = exchange.Pbmac1
                ? CmpMacParameters.Pbmac1(Options.ResponseIterations)
                : CmpMacParameters.PasswordBasedMac(Options.ResponseIterations);
            PkiMessage withExtra = exchange.ExtraCertificates.Count == 0 ? answer : new PkiMessage
            {
                Header = answer.Header,
                Body = answer.Body,
                ExtraCerts = [.. exchange.ExtraCertificates.Select(c => (ReadOnlyMemory<byte>)c.RawData)],
            };
            protectedAnswer = CmpProtection.ProtectWithMac(withExtra, secret, parameters);
        }
        else
        {
            // ProtectWithSignature puts each certificate in extraCerts once, the protection certificate first.
            protectedAnswer = await (exchange.Protection ?? _protection).ProtectAsync(answer, exchange.ExtraCertificates, cancellationToken);
        }

        return PkiMessageCodec.Encode(protectedAnswer);
    }
}
