// A standalone ZooKeeper for the interop test that holds /brokers/topics/<topic> for the given topics.
// Oryx 2.8.0's serving layer checks that its topics exist in ZooKeeper (its lock.master), which a KRaft Kafka lacks;
// the nodes only need to exist. Usage: TopicsZooKeeper <port> <data-dir> <topic>...; prints "READY <port>" when done.
package local.infra.oryx;

import java.io.File;
import java.net.InetSocketAddress;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.server.ServerCnxnFactory;
import org.apache.zookeeper.server.ZooKeeperServer;

public final class TopicsZooKeeper {

  private TopicsZooKeeper() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 2) {
      System.err.println("usage: TopicsZooKeeper <port> <data-dir> <topic>...");
      System.exit(2);
    }
    int port = Integer.parseInt(args[0]);
    File dir = new File(args[1]);
    ZooKeeperServer server = new ZooKeeperServer(dir, dir, 2000);
    ServerCnxnFactory factory = ServerCnxnFactory.createFactory(new InetSocketAddress("127.0.0.1", port), 60);
    factory.startup(server);  // returns once the database is loaded and the server answers
    Runtime.getRuntime().addShutdownHook(new Thread(factory::shutdown));

    CountDownLatch connected = new CountDownLatch(1);
    ZooKeeper zk = new ZooKeeper("127.0.0.1:" + port, 10_000, event -> {
      if (event.getState() == Watcher.Event.KeeperState.SyncConnected) {
        connected.countDown();
      }
    });
    if (!connected.await(30, TimeUnit.SECONDS)) {
      throw new IllegalStateException("could not connect to the ZooKeeper started on port " + port);
    }
    create(zk, "/brokers");
    create(zk, "/brokers/topics");
    for (int i = 2; i < args.length; i++) {
      create(zk, "/brokers/topics/" + args[i]);
    }
    zk.close();
    System.out.println("READY " + port);
    System.out.flush();
    factory.join();
  }

  private static void create(ZooKeeper zk, String path) throws Exception {
    try {
      zk.create(path, new byte[0], ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
    } catch (KeeperException.NodeExistsException e) {
      // already there
    }
  }
}
