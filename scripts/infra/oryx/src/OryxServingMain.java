// Starts the released Oryx 2.8.0 serving layer for the interop test (tests/interop). Oryx's own launcher class
// (module oryx-serving) is not on Maven Central, so this stand-in uses the public API of oryx-lambda-serving:
// configuration from Typesafe Config (-Dconfig.file=...), ServingLayer start, wait, close on shutdown.
package local.infra.oryx;

import com.cloudera.oryx.common.lang.JVMUtils;
import com.cloudera.oryx.common.settings.ConfigUtils;
import com.cloudera.oryx.lambda.serving.ServingLayer;
import com.typesafe.config.Config;

public final class OryxServingMain {

  private OryxServingMain() {}

  public static void main(String[] args) throws Exception {
    Config config = ConfigUtils.getDefault();
    ServingLayer layer = new ServingLayer(config);
    JVMUtils.closeAtShutdown(layer);
    try {
      layer.start();
      layer.await();
    } finally {
      layer.close();
    }
  }
}
