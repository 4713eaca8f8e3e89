package describe_test

// want holds the expected descriptions of TestDescribe's cases, with
// timestamps as <time>, UIDs as <uid>, resource versions as <rv> and pod
// ages as <age>.
var want = map[string]string{
	"pod": `Name:         web-1
Namespace:    default
Priority:     0
Node:         node-1/192.168.1.10
Start Time:   <time>
Labels:       app=web
              tier=front
Annotations:  note: hello
Status:       Running
IP:           10.244.0.5
IPs:
  IP:  10.244.0.5
Containers:
  app:
    Container ID:  containerd://123
    Image:         nginx:1.25
    Image ID:      sha256:abc
    Port:          80/TCP (http)
    Host Port:     0/TCP (http)
    Command:
      nginx
      -g
      daemon off;
    State:          Running
      Started:      <time>
    Ready:          True
    Restart Count:  1
    Limits:
      cpu:  1
    Requests:
      cpu:      500m
      memory:   1Gi
    Readiness:  http-get http://:http/ready delay=0s timeout=1s period=10s #success=1 #failure=3
    Environment:
      MODE:  prod
      POD:   web-1 (v1:metadata.name)
      PW:    <set to the key 'password' in secret 'creds'>  Optional: false
    Mounts:
      /data from data (rw)
      /etc/cfg from cfg (ro)
Conditions:
  Type    Status
  Ready   True 
Volumes:
  data:
    Type:       EmptyDir (a temporary directory that shares a pod's lifetime)
    Medium:     
    SizeLimit:  <unset>
  cfg:
    Type:        ConfigMap (a volume populated by a ConfigMap)
    Name:        cfg
    Optional:    false
QoS Class:       Burstable
Node-Selectors:  <none>
Tolerations:     dedicated=infra:NoSchedule
Events:
  Type     Reason     Age                From     Message
  ----     ------     ----               ----     -------
  Normal   Scheduled  20m                kubelet  Successfully assigned default/web-1 to node-1
  Warning  Unhealthy  12m (x4 over 15m)  kubelet  Readiness probe failed: HTTP probe failed with statuscode: 500
`,
	"deployment": `Name:                   httpd
Namespace:              default
CreationTimestamp:      <time>
Labels:                 app=httpd
Annotations:            <none>
Selector:               app=httpd
Replicas:               2 desired | 0 updated | 0 total | 0 available | 0 unavailable
StrategyType:           RollingUpdate
MinReadySeconds:        0
RollingUpdateStrategy:  25% max unavailable, 25% max surge
Pod Template:
  Labels:  app=httpd
  Containers:
   httpd:
    Image:         httpd:2.4
    Port:          80/TCP
    Host Port:     0/TCP
    Environment:   <none>
    Mounts:        <none>
  Volumes:         <none>
  Node-Selectors:  <none>
  Tolerations:     <none>
Events:            <none>
`,
	"service": `Name:                     web
Namespace:                default
Labels:                   <none>
Annotations:              <none>
Selector:                 app=web
Type:                     ClusterIP
IP Family Policy:         SingleStack
IP Families:              IPv4
IP:                       10.96.0.50
IPs:                      10.96.0.50
Port:                     http  80/TCP
TargetPort:               http/TCP
Endpoints:                10.244.0.5:80
Session Affinity:         None
Internal Traffic Policy:  Cluster
Events:                   <none>
`,
	"configmap": `Name:         cfg
Namespace:    default
Labels:       <none>
Annotations:  <none>

Data
====
a:
----
hello

b:
----
two
lines


BinaryData
====

Events:  <none>
`,
	"secret": `Name:         creds
Namespace:    default
Labels:       <none>
Annotations:  <none>

Type:  Opaque

Data
====
password:  12 bytes
user:      5 bytes
`,
	"node": `Name:               node-1
Roles:              control-plane
Labels:             node-role.kubernetes.io/control-plane=
Annotations:        <none>
CreationTimestamp:  <time>
Taints:             dedicated=infra:NoSchedule
Unschedulable:      false
Lease:
  HolderIdentity:  node-1
  AcquireTime:     <unset>
  RenewTime:       <unset>
Addresses:
  InternalIP:  192.168.1.10
Capacity:
  cpu:     4
  memory:  8Gi
Allocatable:
  cpu:     4
  memory:  8Gi
System Info:
  Machine ID:                 
  System UUID:                
  Boot ID:                    
  Kernel Version:             6.1.0
  OS Image:                   
  Operating System:           linux
  Architecture:               amd64
  Container Runtime Version:  containerd://1.6.20
  Kubelet Version:            v1.34.0
  Kube-Proxy Version:         
PodCIDR:                      10.244.0.0/24
PodCIDRs:                     10.244.0.0/24
Non-terminated Pods:          (1 in total)
  Namespace                   Name     CPU Requests  CPU Limits  Memory Requests  Memory Limits  Age
  ---------                   ----     ------------  ----------  ---------------  -------------  ---
  default                     web-1    500m (12%)    1 (25%)     1Gi (12%)        0 (0%)         <age>
Allocated resources:
  (Total limits may be over 100 percent, i.e., overcommitted.)
  Resource           Requests    Limits
  --------           --------    ------
  cpu                500m (12%)  1 (25%)
  memory             1Gi (12%)   0 (0%)
  ephemeral-storage  0 (0%)      0 (0%)
Events:              <none>
`,
	"namespace": `Name:         default
Labels:       kubernetes.io/metadata.name=default
Annotations:  <none>
Status:       Active

No resource quota.

No LimitRange resource.
`,
	"generic": `Name:         node-1
Namespace:    kube-node-lease
Labels:       <none>
Annotations:  <none>
API Version:  coordination.k8s.io/v1
Kind:         Lease
Metadata:
  Creation Timestamp:  <time>
  Resource Version:    <rv>
  UID:                 <uid>
Spec:
  Holder Identity:  node-1
Events:             <none>
`,
	"selector": `Name:         web-1
Namespace:    default
Priority:     0
Node:         node-1/192.168.1.10
Start Time:   <time>
Labels:       app=web
              tier=front
Annotations:  note: hello
Status:       Running
IP:           10.244.0.5
IPs:
  IP:  10.244.0.5
Containers:
  app:
    Container ID:  containerd://123
    Image:         nginx:1.25
    Image ID:      sha256:abc
    Port:          80/TCP (http)
    Host Port:     0/TCP (http)
    Command:
      nginx
      -g
      daemon off;
    State:          Running
      Started:      <time>
    Ready:          True
    Restart Count:  1
    Limits:
      cpu:  1
    Requests:
      cpu:      500m
      memory:   1Gi
    Readiness:  http-get http://:http/ready delay=0s timeout=1s period=10s #success=1 #failure=3
    Environment:
      MODE:  prod
      POD:   web-1 (v1:metadata.name)
      PW:    <set to the key 'password' in secret 'creds'>  Optional: false
    Mounts:
      /data from data (rw)
      /etc/cfg from cfg (ro)
Conditions:
  Type    Status
  Ready   True 
Volumes:
  data:
    Type:       EmptyDir (a temporary directory that shares a pod's lifetime)
    Medium:     
    SizeLimit:  <unset>
  cfg:
    Type:        ConfigMap (a volume populated by a ConfigMap)
    Name:        cfg
    Optional:    false
QoS Class:       Burstable
Node-Selectors:  <none>
Tolerations:     dedicated=infra:NoSchedule


Name:         web-2
Namespace:    default
Priority:     0
Node:         <none>
Labels:       app=web
Annotations:  <none>
Status:       Pending
IP:           
IPs:          <none>
Containers:
  c:
    Image:        busybox
    Port:         <none>
    Host Port:    <none>
    Environment:  <none>
    Mounts:       <none>
Volumes:          <none>
QoS Class:        BestEffort
Node-Selectors:   <none>
Tolerations:      <none>
`,
	"name prefix": `Name:         web-1
Namespace:    default
Priority:     0
Node:         node-1/192.168.1.10
Start Time:   <time>
Labels:       app=web
              tier=front
Annotations:  note: hello
Status:       Running
IP:           10.244.0.5
IPs:
  IP:  10.244.0.5
Containers:
  app:
    Container ID:  containerd://123
    Image:         nginx:1.25
    Image ID:      sha256:abc
    Port:          80/TCP (http)
    Host Port:     0/TCP (http)
    Command:
      nginx
      -g
      daemon off;
    State:          Running
      Started:      <time>
    Ready:          True
    Restart Count:  1
    Limits:
      cpu:  1
    Requests:
      cpu:      500m
      memory:   1Gi
    Readiness:  http-get http://:http/ready delay=0s timeout=1s period=10s #success=1 #failure=3
    Environment:
      MODE:  prod
      POD:   web-1 (v1:metadata.name)
      PW:    <set to the key 'password' in secret 'creds'>  Optional: false
    Mounts:
      /data from data (rw)
      /etc/cfg from cfg (ro)
Conditions:
  Type    Status
  Ready   True 
Volumes:
  data:
    Type:       EmptyDir (a temporary directory that shares a pod's lifetime)
    Medium:     
    SizeLimit:  <unset>
  cfg:
    Type:        ConfigMap (a volume populated by a ConfigMap)
    Name:        cfg
    Optional:    false
QoS Class:       Burstable
Node-Selectors:  <none>
Tolerations:     dedicated=infra:NoSchedule

Name:         web-2
Namespace:    default
Priority:     0
Node:         <none>
Labels:       app=web
Annotations:  <none>
Status:       Pending
IP:           
IPs:          <none>
Containers:
  c:
    Image:        busybox
    Port:         <none>
    Host Port:    <none>
    Environment:  <none>
    Mounts:       <none>
Volumes:          <none>
QoS Class:        BestEffort
Node-Selectors:   <none>
Tolerations:      <none>

`,
}
