namespace CoapEnroll.Ca;

/// <summary>Where the CA keeps its files inside the data directory.</summary>
public sealed class CaDataLayout
{
    public CaDataLayout(string dataDirectory)
    {
        if (string.IsNullOrWhiteSpace(dataDirectory))
        {
            throw new CaConfigurationException(null, CaConfigurationProblem.InvalidSetting, "Ca:DataDirectory is empty");
        }

        DataDirectory = Path.GetFullPath(dataDirectory);
    }

    /// <summary>The data directory (absolute).</summary>
    public string DataDirectory { get; }

    /// <summary><c>DIR/trust-anchor.pem</c>: the root CA certificate handed to clients.</summary>
    public string TrustAnchor => Path.Combine(DataDirectory, "trust-anchor.pem");

    /// <summary><c>DIR/ca</c>, mode 0700.</summary>
    public string CaDirectory => Path.Combine(DataDirectory, "ca");

    /// <summary><c>DIR/ca/root.key</c>.</summary>
    public string RootKey => Path.Combine(CaDirectory, "root.key");

    /// <summary><c>DIR/ca/issuing.pem</c>.</summary>
    public string IssuingCertificate => Path.Combine(CaDirectory, "issuing.pem");

    /// <summary><c>DIR/ca/issuing.key</c>.</summary>
    public string IssuingKey => Path.Combine(CaDirectory, "issuing.key");

    /// <summary><c>DIR/server.pem</c>: server certificate followed by the issuing CA.</summary>
    public string ServerCertificate => Path.Combine(DataDirectory, "server.pem");

    /// <summary><c>DIR/server.key</c>.</summary>
    public string ServerKey => Path.Combine(DataDirectory, "server.key");

    /// <summary><c>DIR/demo</c>.</summary>
    public string DemoDirectory => Path.Combine(DataDirectory, "demo");

    /// <summary><c>DIR/demo/manufacturer-ca.pem</c>.</summary>
    public string ManufacturerCaCertificate => Path.Combine(DemoDirectory, "manufacturer-ca.pem");

    /// <summary><c>DIR/demo/manufacturer-ca.key</c>.</summary>
    public string ManufacturerCaKey => Path.Combine(DemoDirectory, "manufacturer-ca.key");

    /// <summary><c>DIR/demo/device.pem</c>: the demo IDevID (CN=demo-device-1, serialNumber=DEMO-0001) issued by the demo manufacturer CA.</summary>
    public string DemoDeviceCertificate => Path.Combine(DemoDirectory, "device.pem");

    /// <summary><c>DIR/demo/device.key</c>.</summary>
    public string DemoDeviceKey => Path.Combine(DemoDirectory, "device.key");

    /// <summary><c>DIR/coapenroll.db</c>: the SQLite certificate store.</summary>
    public string Database => Path.Combine(DataDirectory, "coapenroll.db");
}
